// berth web view: live updates. The page works without this script; with
// it, the server's "change" events make the page fetch its own live
// region again, and a container's log follows as it grows. No framework,
// no build step.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  function say(text) { if (status) { status.textContent = text; } }

  var region = document.getElementById("live");
  if (region && window.EventSource) {
    var busy = false, again = false;
    var refresh = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(window.location.href, { headers: { "X-Berth-Live": "1" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected || r.status === 401) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          // Keep the keyboard focus where it was, by id, when it is inside.
          var focused = document.activeElement && region.contains(document.activeElement) ? document.activeElement.id : "";
          var open = [];
          region.querySelectorAll("details[open]").forEach(function (d, i) { open.push(i); });
          region.innerHTML = html;
          // The header's revisions come first, in a template element.
          var revs = region.querySelector("template#live-revs"), head = document.querySelector("header .revs");
          if (revs) { if (head) { head.replaceChildren(revs.content.cloneNode(true)); } revs.remove(); }
          var details = region.querySelectorAll("details");
          open.forEach(function (i) { if (details[i]) { details[i].open = true; } });
          if (focused) { var el = document.getElementById(focused); if (el) { el.focus(); } }
          say("Updated " + new Date().toLocaleTimeString());
        })
        .catch(function () { say("Live update failed; retrying on the next change"); })
        .then(function () { busy = false; if (again) { again = false; refresh(); } });
    };
    var events = new EventSource("/ui/events");
    events.addEventListener("change", refresh);
    events.onerror = function () { say("Live updates paused; reconnecting…"); };
    events.onopen = function () { say("Live"); };
  }

  document.querySelectorAll("pre[data-log-stream]").forEach(function (pre) {
    if (!window.EventSource) { return; }
    var max = 2000;
    var stream = new EventSource(pre.getAttribute("data-log-stream"));
    stream.onmessage = function (e) {
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(e.data + "\n"));
      while (pre.childNodes.length > max) { pre.removeChild(pre.firstChild); }
      if (atEnd) { pre.scrollTop = pre.scrollHeight; }
    };
    stream.addEventListener("failed", function (e) {
      pre.appendChild(document.createTextNode("(log stream ended: " + e.data + ")\n"));
      stream.close();
    });
  });
})();
