// The clerk's page: a token entered once (kept in this tab's sessionStorage, sent as a Bearer
// header), a window, and the buttons 叫下一位 / 重呼 / 办结 / 过号. The page holds no ticket or booking
// until the staff endpoints answer with that token; signing out (or a 401) clears them again.
(function () {
  "use strict";
  var place = document.body.getAttribute("data-place");
  if (!place) return;
  var TOKEN_KEY = "zhiyin_staff_token", WINDOW_KEY = "zhiyin_staff_window:" + place;
  var WINDOW_RE = /^[A-Za-z0-9\u4e00-\u9fff_-]{1,16}$/;
  var POLL_MS = 10000, CONFIRM_MS = 4000;
  var KIND = { green: "绿色通道", booked: "预约", walk_in: "现场" };
  var BOOKING_STATUS = { booked: "已预约", checked_in: "已签到", cancelled: "已取消" };
  var setup = JSON.parse(document.getElementById("staff-setup").textContent);
  var api = "/api/staff/places/" + encodeURIComponent(place);

  function $(id) { return document.getElementById(id); }
  var signin = $("signin"), signinMessage = $("signin-message"), tokenInput = $("token");
  var desk = $("desk"), who = $("who"), windowInput = $("window"), current = $("current");
  var notice = $("notice"), error = $("error");
  var buttons = { next: $("call-next"), recall: $("recall"), done: $("done"), noShow: $("no-show") };
  var token = read(sessionStorage, TOKEN_KEY), rows = [], currentId = null, busy = false;
  var stream = null, pollTimer = null, refreshTimer = null, noShowArmed = null;

  function read(store, key) { try { return store.getItem(key); } catch (e) { return null; } }
  function write(store, key, value) {
    try { if (value === null) store.removeItem(key); else store.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function chinese(text) {  // "中文。English." → the Chinese sentence(s)
    var i = text.search(/。\s*[A-Za-z]/);
    return i >= 0 ? text.slice(0, i + 1) : text;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function windowWords(w) { return w + (/\d$/.test(w) ? "号" : "") + "窗口"; }
  function hhmm(stamp) { return stamp ? stamp.slice(11, 16) : "—"; }

  // -- talking to the staff endpoints ------------------------------------------------------------
  function failure(status, data) {
    var detail = data && data.detail, message = "";
    if (detail && detail.message) message = chinese(detail.message);
    else if (typeof detail === "string") message = detail;
    if (status === 401) message = token ? "令牌无效或已被收回，请重新输入。" : "需要工作人员令牌。";
    else if (status === 403) message = "无权操作：" + (message || "该令牌不能在这里使用。");
    else if (status === 422 && !message) message = "填写的内容不对，请核对后再试。";
    else if (!message) message = "操作没有成功（" + status + "），请稍后再试。";
    var err = new Error(message);
    err.status = status;
    return err;
  }

  function call(method, path, body) {
    var headers = { Authorization: "Bearer " + token };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method, headers: headers, cache: "no-store", credentials: "omit",
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok) throw failure(r.status, data);
        return data;
      });
    }, function () {
      throw new Error("网络不通，请检查网络后重试。");
    });
  }

  function say(text) { error.textContent = ""; notice.textContent = text; }
  function complain(err) {
    if (err.status === 401) { signOut(err.message); return; }
    notice.textContent = "";
    error.textContent = err.message;
  }

  // -- signing in and out ------------------------------------------------------------------------
  function signIn(given, quietly) {
    token = given;
    return call("GET", api + "/queue").then(function (board) {
      write(sessionStorage, TOKEN_KEY, token);
      signin.hidden = true;
      desk.hidden = false;
      who.hidden = false;
      tokenInput.value = "";
      drawBoard(board);
      loadBookings();
      follow();
      (windowInput.value ? buttons.next : windowInput).focus();
    }, function (err) {
      token = null;
      write(sessionStorage, TOKEN_KEY, null);
      signin.hidden = false;
      signinMessage.textContent = quietly && err.status === 401 ? "登录已失效，请重新输入令牌。" : err.message;
      if (!quietly) tokenInput.focus();
    });
  }

  function signOut(message) {
    token = null;
    write(sessionStorage, TOKEN_KEY, null);
    if (stream) { stream.close(); stream = null; }
    clearTimeout(pollTimer);
    rows = [];
    currentId = null;
    $("board").textContent = "";
    $("bookings").textContent = "";
    $("board-count").textContent = "";
    $("bookings-count").textContent = "";
    drawCurrent();
    notice.textContent = error.textContent = "";
    desk.hidden = true;
    who.hidden = true;
    signin.hidden = false;
    signinMessage.textContent = message || "已退出。";
    tokenInput.focus();
  }

  $("signin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var given = tokenInput.value.trim();
    if (!given) { signinMessage.textContent = "需要工作人员令牌。"; tokenInput.focus(); return; }
    signIn(given, false);
  });
  $("signout").addEventListener("click", function () { signOut("已退出。"); });

  // -- the window --------------------------------------------------------------------------------
  windowInput.value = read(localStorage, WINDOW_KEY) || "";
  function myWindow() {
    var w = windowInput.value.trim().toUpperCase();
    return WINDOW_RE.test(w) ? w : null;
  }
  windowInput.addEventListener("change", function () {
    var w = myWindow();
    if (w) {
      windowInput.value = w;
      write(localStorage, WINDOW_KEY, w);
      say("本窗口：" + windowWords(w));
    } else {
      complain(new Error("窗口号只能是字母、数字或汉字，例如 A05。"));
    }
    currentId = null;
    drawCurrent();
  });

  // -- what this window is serving ---------------------------------------------------------------
  function mine() {  // the ticket called to this window: the one just called, else the latest
    var w = myWindow(), found = null;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (r.status !== "called" || r.window !== w) continue;
      if (r.id === currentId) return r;
      if (!found || r.id > found.id) found = r;
    }
    return found;
  }

  function drawCurrent() {
    var r = token ? mine() : null;
    currentId = r ? r.id : null;
    current.textContent = "";
    if (!r) {
      current.appendChild(el("p", "idle", "当前没有办理中的号码"));
    } else {
      current.appendChild(el("p", "label", "正在办理"));
      var number = el("p", "number", r.ticket);
      number.id = "current-ticket";
      current.appendChild(number);
      current.appendChild(el("p", "what", r.group_label + " · " + KIND[r.kind]));
      if (r.name || r.booking_code) {
        current.appendChild(el("p", "who", [r.name, r.phone, r.booking_code ? "预约码 " + r.booking_code : ""]
          .filter(Boolean).join(" · ")));
      }
    }
    disarmNoShow();
    buttons.recall.disabled = buttons.done.disabled = buttons.noShow.disabled = !r || busy;
    buttons.next.disabled = busy;
  }

  function drawBoard(board) {
    rows = board || [];
    var body = $("board"), waiting = 0;
    body.textContent = "";
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], tr = el("tr", r.status === "called" ? "called" : "");
      if (r.status === "waiting") waiting += 1;
      tr.appendChild(el("td", "num", r.ticket));
      tr.appendChild(el("td", "", r.group_label));
      var kind = el("td");
      kind.appendChild(el("span", "kind " + r.kind, KIND[r.kind]));
      tr.appendChild(kind);
      tr.appendChild(el("td", "", r.status === "called" ? "已叫 · " + windowWords(r.window || "") : "等候"));
      tr.appendChild(el("td", "", r.status === "waiting" ? String(r.ahead) : "—"));
      tr.appendChild(el("td", "", r.slot ? hhmm(r.slot) : "—"));
      tr.appendChild(el("td", "", r.name || "—"));
      tr.appendChild(el("td", "", r.phone || "—"));
      body.appendChild(tr);
    }
    if (!rows.length) {
      var empty = el("tr"), cell = el("td", "empty", "现在没有人排队");
      cell.colSpan = 8;
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    $("board-count").textContent = "等候 " + waiting + " 人";
    drawCurrent();
  }

  function drawBookings(list) {
    var body = $("bookings");
    body.textContent = "";
    for (var i = 0; i < list.length; i++) {
      var b = list[i], tr = el("tr", b.status);
      tr.appendChild(el("td", "num", hhmm(b.slot)));
      tr.appendChild(el("td", "code", b.code));
      tr.appendChild(el("td", "", (setup.items[b.item] || b.item) + " · " + b.group));
      tr.appendChild(el("td", "", BOOKING_STATUS[b.status] || b.status));
      tr.appendChild(el("td", "", b.name));
      tr.appendChild(el("td", "", b.phone));
      tr.appendChild(el("td", "", b.id_last4 || "—"));
      body.appendChild(tr);
    }
    if (!list.length) {
      var empty = el("tr"), cell = el("td", "empty", "今天没有预约");
      cell.colSpan = 7;
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    var active = list.filter(function (b) { return b.status !== "cancelled"; }).length;
    $("bookings-count").textContent = "共 " + active + " 个";
  }

  function loadBoard() {
    return call("GET", api + "/queue").then(drawBoard, complain);
  }
  function loadBookings() {
    return call("GET", api + "/bookings").then(drawBookings, complain);
  }
  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (!token) return;
      loadBoard();
      loadBookings();
    }, 250);
  }

  // the public queue stream says when something changed; the board itself comes with the token
  function follow() {
    if (stream || !token) return;
    if (!window.EventSource) { poll(); return; }
    stream = new EventSource("/api/places/" + encodeURIComponent(place) + "/queue/events");
    var first = true;
    stream.addEventListener("queue", function () {
      if (first) { first = false; return; }  // the state at connect time: already loaded
      refresh();
    });
    stream.onerror = function () {
      if (stream && stream.readyState === 2) { stream.close(); stream = null; poll(); }
    };
  }
  function poll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(function () {
      if (!token) return;
      refresh();
      poll();
    }, POLL_MS);
  }

  // -- the buttons -------------------------------------------------------------------------------
  function act(work) {
    if (busy || !token) return;
    busy = true;
    drawCurrent();
    work().then(null, complain).then(function () {
      busy = false;
      drawCurrent();
      return loadBoard();
    });
  }

  buttons.next.addEventListener("click", function () {
    var w = myWindow();
    if (!w) { complain(new Error("请先填写本窗口的窗口号。")); windowInput.focus(); return; }
    var groups = [];
    var boxes = document.querySelectorAll("input[name=group]:checked");
    for (var i = 0; i < boxes.length; i++) groups.push(boxes[i].value);
    act(function () {
      return call("POST", api + "/call-next", { window: w, groups: groups.length ? groups : null })
        .then(function (data) {
          if (!data || !data.ticket) { currentId = null; say("暂无等候的办事人。"); return; }
          currentId = data.ticket.id;
          rows.push(data.ticket);  // shown at once; the board reload adds the name
          say("已叫 " + data.ticket.ticket + " 号到" + windowWords(w) + "。");
        });
    });
  });

  function ticketAction(action, done) {
    var r = mine();
    if (!r) return;
    act(function () {
      return call("POST", "/api/staff/tickets/" + r.id + "/" + action, { window: myWindow() }).then(function (t) {
        r.status = t.status;  // at once, before the board is read again
        if (action !== "recall") currentId = null;
        say(done(t));
      });
    });
  }
  buttons.recall.addEventListener("click", function () {
    ticketAction("recall", function (t) { return "已重呼 " + t.ticket + " 号。"; });
  });
  buttons.done.addEventListener("click", function () {
    ticketAction("done", function (t) { return t.ticket + " 号已办结。"; });
  });

  // 过号 cannot be undone: the first press asks, a second press within a few seconds confirms
  function disarmNoShow() {
    if (noShowArmed) { clearTimeout(noShowArmed); noShowArmed = null; }
    buttons.noShow.textContent = "过号";
    buttons.noShow.removeAttribute("aria-describedby");
  }
  buttons.noShow.addEventListener("click", function () {
    if (!noShowArmed) {
      buttons.noShow.textContent = "确认过号？";
      say("再按一次“确认过号”，此号作过号处理（不能撤销）。");
      noShowArmed = setTimeout(disarmNoShow, CONFIRM_MS);
      return;
    }
    disarmNoShow();
    ticketAction("no-show", function (t) { return t.ticket + " 号已作过号处理。"; });
  });

  $("checkin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var code = $("checkin-code").value.trim();
    if (!code) { complain(new Error("请输入或扫描预约码。")); return; }
    act(function () {
      return call("POST", "/api/staff/checkin", { code: code, green: $("checkin-green").checked })
        .then(function (t) {
          $("checkin-code").value = "";
          $("checkin-green").checked = false;
          say("已签到：" + t.ticket + " 号，" + t.group_label + "，前面 " + (t.ahead || 0) + " 人" +
            (t.late ? "（已过预约时段，按现场号排队）" : "") + "。");
          loadBookings();
        });
    });
  });

  if (token) {
    signIn(token, true);
  } else {
    signin.hidden = false;  // without JavaScript the form stays hidden: it must never send the token anywhere
    tokenInput.focus();
  }
})();
