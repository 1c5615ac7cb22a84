// Applies the saved theme before the first paint (loaded synchronously in <head>).
(function () {
  try {
    var theme = localStorage.getItem("kubelab-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (e) {
    // Storage may be blocked; the system preference applies.
  }
})();
