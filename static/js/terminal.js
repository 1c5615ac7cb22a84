// The browser terminal: xterm.js in a panel, connected with a one-time ticket to a WebSocket
// that kubelab relays to a shell in the learner's toolbox Pod. Reconnects after a drop.
(function () {
  "use strict";
  var panel = document.querySelector("[data-terminal]");
  if (!panel || !window.Terminal || !window.FitAddon) { return; }
  var openButton = panel.querySelector(".terminal-open");
  var statusLine = panel.querySelector(".terminal-status");
  var screen = panel.querySelector(".terminal-screen");
  var smaller = panel.querySelector(".terminal-smaller");
  var larger = panel.querySelector(".terminal-larger");
  var attempt = panel.getAttribute("data-attempt");
  var term = null, fit = null, socket = null, closedForGood = false, retries = 0;
  var encoder = new TextEncoder();

  function say(text) { statusLine.textContent = text; }

  // Input goes out in pieces under the server's 16 KiB frame limit (a long paste too).
  function send(data) {
    if (!socket || socket.readyState !== 1) { return; }
    var bytes = encoder.encode(data);
    for (var at = 0; at < bytes.length; at += 8192) {
      socket.send(bytes.subarray(at, Math.min(bytes.length, at + 8192)));
    }
  }

  // Colours follow the page theme (light, dark, or the system's).
  function theme() {
    var chosen = document.documentElement.getAttribute("data-theme");
    var dark = chosen ? chosen === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
    return dark
      ? { background: "#0f1419", foreground: "#e6edf3", cursor: "#6ea8fe", selection: "#30363d" }
      : { background: "#ffffff", foreground: "#1b1f24", cursor: "#1f5fcf", selection: "#c8d8f0" };
  }

  function fontSize() {
    var stored = 14;
    try { stored = parseInt(localStorage.getItem("kubelab-terminal-font") || "14", 10); } catch (e) { /* blocked */ }
    return stored >= 10 && stored <= 28 ? stored : 14;
  }

  function setFont(size) {
    term.setOption("fontSize", size);
    try { localStorage.setItem("kubelab-terminal-font", String(size)); } catch (e) { /* blocked */ }
    refit();
  }

  function refit() {
    if (!fit) { return; }
    try { fit.fit(); } catch (e) { return; }
    if (socket && socket.readyState === 1) {
      socket.send(JSON.stringify({ resize: [term.cols, term.rows] }));
    }
  }

  function create() {
    // Screen-reader mode mirrors the screen as text for assistive technology (and tests).
    term = new window.Terminal({ fontSize: fontSize(), cursorBlink: true, theme: theme(), scrollback: 5000, screenReaderMode: true });
    fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    screen.hidden = false;
    // Into view: xterm pauses drawing while it is off screen.
    screen.scrollIntoView({ block: "nearest" });
    term.open(screen);
    refit();
    term.onData(send);
    // Copy with Ctrl+C while text is selected (else Ctrl+C interrupts, as in any terminal),
    // or Ctrl+Shift+C; paste with Ctrl+Shift+V (Ctrl+V pastes through the browser already).
    term.attachCustomKeyEventHandler(function (event) {
      if (event.type !== "keydown" || !event.ctrlKey) { return true; }
      var key = event.key.toLowerCase();
      if (key === "c" && (event.shiftKey || term.hasSelection()) && navigator.clipboard) {
        navigator.clipboard.writeText(term.getSelection()).catch(function () { /* denied */ });
        event.preventDefault();
        return false;
      }
      if (key === "v" && event.shiftKey && navigator.clipboard) {
        navigator.clipboard.readText().then(send).catch(function () { /* denied */ });
        event.preventDefault();
        return false;
      }
      return true;
    });
    window.addEventListener("resize", refit);
    new MutationObserver(function () { term.setOption("theme", theme()); })
      .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    smaller.hidden = false;
    larger.hidden = false;
    smaller.addEventListener("click", function () { setFont(Math.max(10, term.getOption("fontSize") - 1)); });
    larger.addEventListener("click", function () { setFont(Math.min(28, term.getOption("fontSize") + 1)); });
  }

  function connect() {
    say("Connecting…");
    var body = attempt ? JSON.stringify({ attempt: parseInt(attempt, 10) }) : "{}";
    fetch(panel.getAttribute("data-terminal"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: body
    })
      .then(function (response) {
        return response.json().then(function (json) {
          if (!response.ok) { throw new Error((json.error && json.error.message) || response.statusText); }
          return json;
        });
      })
      .then(function (ticket) {
        var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
        socket = new WebSocket(scheme + window.location.host + ticket.url);
        socket.binaryType = "arraybuffer";
        socket.onmessage = function (event) {
          if (typeof event.data !== "string") { term.write(new Uint8Array(event.data)); return; }
          var message;
          try { message = JSON.parse(event.data); } catch (e) { return; }
          if (message.status) { say(message.status + "…"); }
          if (message.ready) { retries = 0; say("Connected to your toolbox."); refit(); term.focus(); }
          if (typeof message.watching === "number") {
            panel.classList.toggle("terminal-watched", message.watching > 0);
            say(message.watching > 0 ? "Your instructor is watching this terminal." : "Connected to your toolbox.");
          }
          if (message.closed) { closedForGood = true; say("Closed: " + message.closed); }
        };
        socket.onclose = function () {
          socket = null;
          if (closedForGood) { openButton.hidden = false; openButton.textContent = "Open it again"; return; }
          // A dropped network: reconnect to the same shell, a little later each time.
          retries += 1;
          var wait = Math.min(10, retries * 2);
          say("Connection lost; reconnecting in " + wait + " s…");
          setTimeout(connect, wait * 1000);
        };
      })
      .catch(function (err) { say("The terminal cannot open: " + err.message); openButton.hidden = false; });
  }

  openButton.addEventListener("click", function () {
    openButton.hidden = true;
    closedForGood = false;
    if (!term) { create(); }
    connect();
  });
  // Opened before: open again after a reload, into the same shell.
  try {
    if (sessionStorage.getItem("kubelab-terminal-open") === "1") { openButton.click(); }
    openButton.addEventListener("click", function () { sessionStorage.setItem("kubelab-terminal-open", "1"); });
  } catch (e) { /* storage blocked: the learner opens it again */ }
})();
