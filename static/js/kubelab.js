// Progressive enhancement for kubelab pages. Every feature here also works without
// JavaScript (forms post, <details> open); this only makes it smoother.
(function () {
  "use strict";

  // Copy buttons: the Clipboard API where available (secure contexts), else a
  // selection + execCommand fallback, else select the text and ask for Ctrl+C.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; });
    }
    return new Promise(function (resolve) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "copy-buffer";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      resolve(ok);
    });
  }

  function selectContents(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function flash(button, label) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = label;
    setTimeout(function () { button.textContent = original; }, 2000);
  }

  document.querySelectorAll(".copy-button").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var figure = button.closest(".code-block");
      var code = figure && figure.querySelector("pre code");
      if (!code) { return; }
      copyText(code.textContent).then(function (ok) {
        if (ok) {
          button.classList.add("copied");
          flash(button, "Copied");
        } else {
          selectContents(code);
          flash(button, "Press Ctrl+C");
        }
      }, function () {
        selectContents(code);
        flash(button, "Press Ctrl+C");
      });
    });
  });

  // "Mark section done" without a page reload; the form still posts when JS is off.
  function renderDone(form, done) {
    var section = form.getAttribute("data-section");
    var input = form.querySelector("input[name=done]");
    var button = form.querySelector("button");
    input.value = done ? "false" : "true";
    button.textContent = done ? "\u2713 Done \u2014 mark as not done" : "Mark section done";
    button.setAttribute("aria-pressed", done ? "true" : "false");
    button.classList.toggle("secondary", done);
    var box = document.getElementById(section);
    if (box) { box.classList.toggle("done", done); }
    var item = document.querySelector('.toc-list li[data-section="' + section + '"]');
    if (item) { item.classList.toggle("done", done); }
    var count = document.querySelectorAll(".toc-list li.done").length;
    var progress = document.getElementById("lesson-progress");
    if (progress) { progress.value = count; }
    document.querySelectorAll(".done-count").forEach(function (n) { n.textContent = String(count); });
  }

  document.querySelectorAll("form.mark-done").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var done = form.querySelector("input[name=done]").value === "true";
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.getAttribute("data-api"), {
        method: done ? "POST" : "DELETE",
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (body) {
        renderDone(form, body.done);
      }).catch(function () {
        // Fall back to the plain form post, which shows any error as a page.
        form.submit();
      }).finally(function () {
        button.disabled = false;
      });
    });
  });

  // Hints open in order: hint n+1 appears once hint n has been opened.
  var hints = Array.prototype.slice.call(document.querySelectorAll("details.hint"));
  hints.forEach(function (hint, index) {
    if (index > 0) { hint.hidden = true; }
    hint.addEventListener("toggle", function () {
      if (hint.open && hints[index + 1]) { hints[index + 1].hidden = false; }
    });
  });

  // Reading progress: how far down the lesson the reader has scrolled.
  var bar = document.querySelector(".reading-progress");
  if (bar) {
    bar.hidden = false;
    var update = function () {
      var max = document.documentElement.scrollHeight - window.innerHeight;
      bar.value = max > 0 ? Math.min(100, Math.round((window.scrollY / max) * 100)) : 100;
    };
    window.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    update();
  }

  // Live verdicts over SSE. Browsers allow six HTTP/1.1 connections per host, so one tab at
  // a time holds the stream: the visible tab that holds the "kubelab-live" Web Lock (where
  // the Locks API exists), and any tab only while it is visible.
  var live = document.querySelector("[data-live]");
  if (live && window.EventSource) {
    var source = null;
    var releaseLock = null;
    var status = live.querySelector(".live-status");
    var target = live.querySelector(".verdict-box");
    var showStatus = function (text) {
      if (!status) { return; }
      status.hidden = !text;
      status.textContent = text || "";
    };
    var connect = function () {
      if (source) { return; }
      source = new EventSource(live.getAttribute("data-live"));
      source.addEventListener("verdict", function (event) {
        target.innerHTML = event.data;
        showStatus("Live: re-checked whenever your cluster changes");
      });
      // The workshop's instructor opened hints for everyone: open them here too.
      source.addEventListener("hint", function (event) {
        var open = parseInt(event.data, 10);
        document.querySelectorAll("details.hint[data-hint]").forEach(function (hint) {
          if (parseInt(hint.getAttribute("data-hint"), 10) <= open) { hint.open = true; }
        });
      });
      // A message from the workshop's instructor, shown at the top of the page.
      source.addEventListener("message", function (event) {
        var box = document.querySelector(".class-messages");
        if (!box) {
          box = document.createElement("aside");
          box.className = "class-messages";
          box.setAttribute("role", "status");
          box.appendChild(document.createElement("ul"));
          var main = document.getElementById("main");
          main.parentNode.insertBefore(box, main);
        }
        var item = document.createElement("li");
        item.textContent = event.data;
        var list = box.querySelector("ul");
        list.insertBefore(item, list.firstChild);
      });
      source.addEventListener("error", function () { showStatus(""); });
    };
    var disconnect = function () {
      if (source) { source.close(); source = null; }
      if (releaseLock) { releaseLock(); releaseLock = null; }
      showStatus("");
    };
    var start = function () {
      if (source || releaseLock) { return; }
      if (navigator.locks && navigator.locks.request) {
        showStatus("Live updates wait while another kubelab tab is live");
        navigator.locks.request("kubelab-live", function () {
          if (document.visibilityState !== "visible") { return null; }
          connect();
          return new Promise(function (resolve) { releaseLock = resolve; });
        });
      } else {
        connect();
      }
    };
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { start(); } else { disconnect(); }
    });
    window.addEventListener("pagehide", disconnect);
    if (document.visibilityState === "visible") { start(); }
  }

  // Countdowns: the deadline comes from the server; only the offset to this machine's clock
  // is local, so reloads and other tabs show the same time, and overtime keeps counting.
  document.querySelectorAll(".timer[data-deadline]:not(.exam-timer)").forEach(function (timer) {
    var deadline = Number(timer.getAttribute("data-deadline"));
    var offset = Number(timer.getAttribute("data-now")) - Math.floor(Date.now() / 1000);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var tick = function () {
      var left = deadline - (Math.floor(Date.now() / 1000) + offset);
      var abs = Math.abs(left);
      timer.textContent = (left < 0 ? "-" : "") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
      timer.classList.toggle("overtime", left < 0);
    };
    tick();
    setInterval(tick, 1000);
  });

  // The cluster badge: on a first visit the status is still being probed; ask once.
  var badge = document.querySelector(".cluster-badge.cluster-unknown");
  if (badge) {
    fetch("/api/v1/cluster", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.status) { return; }
        var s = body.status;
        badge.classList.remove("cluster-unknown");
        if (!s.reachable) {
          badge.textContent = s.context + ": unreachable";
          badge.classList.add("cluster-down");
        } else {
          badge.textContent = s.context + " \u00b7 " + (s.version || "?") + " \u00b7 " + s.ready_nodes + "/" + s.nodes + " nodes Ready";
          badge.classList.add(s.nodes > 0 && s.ready_nodes === s.nodes ? "cluster-ok" : "cluster-degraded");
        }
      })
      .catch(function () { /* the next page view shows the cached status */ });
  }

  // Exam view: the server's clock decides. The page counts down from the server's deadline,
  // re-syncs with the API, shows the five-minute notice, and goes to the report when time is
  // up or another tab submitted. While preparing it shows each task's setup as it happens.
  var exam = document.querySelector(".exam[data-attempt]");
  if (exam) {
    var attempt = exam.getAttribute("data-attempt");
    var preparing = exam.getAttribute("data-status") === "preparing";
    var examTimer = exam.querySelector(".exam-timer");
    var notice = exam.querySelector(".exam-notice");
    var examDeadline = examTimer ? Number(examTimer.getAttribute("data-deadline")) : 0;
    var examOffset = examTimer ? Number(examTimer.getAttribute("data-now")) - Math.floor(Date.now() / 1000) : 0;
    var ended = false;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    var inFlight = false;
    var sync = function () {
      // One request at a time: a slow answer (grading under way) never piles up polls.
      if (inFlight) { return; }
      inFlight = true;
      fetch("/api/v1/exam-attempts/" + attempt, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (b) {
          if (!b) { return; }
          if (b.status === "graded" && b.report_url) { window.location.assign(b.report_url); return; }
          if (preparing) {
            if (b.status === "running") { window.location.reload(); return; }
            b.tasks.forEach(function (t) {
              var li = exam.querySelector('.exam-setup li[data-task="' + t.task + '"]');
              if (!li) { return; }
              li.className = "setup-" + t.setup;
              li.querySelector(".setup-state").textContent = t.setup;
            });
            return;
          }
          if (b.deadline_at && b.remaining_seconds !== null) {
            examDeadline = b.deadline_at;
            examOffset = (b.deadline_at - b.remaining_seconds) - Math.floor(Date.now() / 1000);
          }
        })
        .catch(function () { /* the next sync tries again */ })
        .then(function () { inFlight = false; });
    };
    if (examTimer) {
      var tickExam = function () {
        var left = examDeadline - (Math.floor(Date.now() / 1000) + examOffset);
        var shown = Math.max(left, 0);
        examTimer.textContent = two(Math.floor(shown / 60)) + ":" + two(shown % 60);
        if (notice) { notice.hidden = left > 300; }
        if (left < 0 && !ended) {
          ended = true;
          examTimer.textContent = "00:00";
          // The server grades at the deadline; asking makes sure it has, then shows the report.
          sync();
          setInterval(sync, 2000);
        }
      };
      tickExam();
      setInterval(tickExam, 1000);
    }
    setInterval(sync, preparing ? 1000 : 15000);
  }

  var print = document.querySelector(".print-button");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  // Theme toggle: auto -> light -> dark -> auto, remembered in localStorage.
  var toggle = document.querySelector(".theme-toggle");
  if (toggle) {
    var order = ["auto", "light", "dark"];
    var current = document.documentElement.getAttribute("data-theme") || "auto";
    var show = function () { toggle.textContent = "Theme: " + current; };
    toggle.hidden = false;
    show();
    toggle.addEventListener("click", function () {
      current = order[(order.indexOf(current) + 1) % order.length];
      if (current === "auto") {
        document.documentElement.removeAttribute("data-theme");
      } else {
        document.documentElement.setAttribute("data-theme", current);
      }
      try {
        if (current === "auto") { localStorage.removeItem("kubelab-theme"); }
        else { localStorage.setItem("kubelab-theme", current); }
      } catch (e) { /* storage blocked: the choice lasts for this page */ }
      show();
    });
  }
  // The instructor's roster follows verdicts and joins live; without JavaScript, reload.
  var roster = document.querySelector(".roster-card[data-roster-live]");
  if (roster && window.EventSource) {
    var feed = new EventSource(roster.getAttribute("data-roster-live"));
    feed.addEventListener("cell", function (event) {
      var update;
      try { update = JSON.parse(event.data); } catch (e) { return; }
      var cell = document.getElementById("cell-" + update.row + "-" + update.task);
      if (!cell) { window.location.reload(); return; }
      cell.className = "status-" + update.status;
      var action = cell.querySelector(".cell-action");
      cell.textContent = update.status +
        (typeof update.score === "number" ? " " + update.score + "/" + update.max_score : "");
      if (action) { cell.appendChild(action); }
    });
    feed.addEventListener("reload", function () { window.location.reload(); });
  }
  // A workshop cluster being made: follow its steps, and reload once it is ready or failed.
  var starting = document.querySelector("[data-provisioning]");
  if (starting && window.fetch) {
    var stepText = starting.querySelector(".cluster-step");
    setInterval(function () {
      fetch(starting.getAttribute("data-provisioning"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (mine) {
          var cluster = mine && mine.cluster;
          if (!cluster) { return; }
          if (cluster.state !== "provisioning") { window.location.reload(); return; }
          if (stepText && cluster.step) { stepText.textContent = cluster.step; }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }, 2000);
  }
  // The diagnosis: each step fills in as it finishes; the first broken link is highlighted.
  var diagnosis = document.querySelector(".diagnosis[data-stream]");
  if (diagnosis && window.EventSource) {
    var summary = document.querySelector(".diagnosis-summary");
    var running = new EventSource(diagnosis.getAttribute("data-stream"));
    summary.textContent = "Walking the checklist on your cluster…";
    running.addEventListener("step", function (event) {
      var step;
      try { step = JSON.parse(event.data); } catch (e) { return; }
      var item = document.getElementById("step-" + step.id);
      if (!item) { return; }
      item.classList.remove("step-waiting");
      item.classList.add("step-" + step.status);
      item.querySelector(".step-status").textContent = step.status;
      var list = item.querySelector(".step-evidence");
      list.textContent = "";
      step.evidence.forEach(function (line) {
        var li = document.createElement("li");
        li.textContent = line;
        list.appendChild(li);
      });
      item.querySelector(".step-next").hidden = !step.next;
    });
    running.addEventListener("done", function (event) {
      running.close();
      var done;
      try { done = JSON.parse(event.data); } catch (e) { return; }
      if (done.first_broken) {
        var broken = document.getElementById("step-" + done.first_broken);
        if (broken) { broken.classList.add("first-broken"); broken.scrollIntoView({ block: "center" }); }
        summary.textContent = "First broken link: " + (broken ? broken.querySelector("h2").textContent.replace(/^\s*\w+\s*/, "") : done.first_broken) + ".";
      } else {
        summary.textContent = "Every link of the chain holds.";
      }
    });
    running.addEventListener("problem", function (event) { running.close(); summary.textContent = event.data; });
  }
})();
