// 舆情监测与回应 — live dashboard.
// Everything shown comes from crawled text, which is attacker-controlled:
// the DOM is built with createElement and textContent only.
(function () {
  'use strict';

  var FEED_MAX = 200;        // posts kept in the live feed
  var EVENTS_SHOWN = 30;     // events rendered
  var EVENTS_KEPT = 300;     // events remembered
  var TEXT_MAX = 160;        // characters of a post shown
  var ACTOR_KEY = 'yuqing.actor';

  var SENTIMENT = { positive: '正面', neutral: '中性', negative: '负面' };
  var GRADE_ROMAN = { 1: 'I', 2: 'II', 3: 'III', 4: 'IV' };
  var GRADE_ZH = { 1: '特别重大', 2: '重大', 3: '较大', 4: '一般' };
  var STATUS_ZH = { open: '待签收', signed: '已签收', assessed: '已研判', answered: '已回应', closed: '已关闭' };
  var SOURCE_ZH = { weibo: '微博', news: '新闻', gov: '政务网站', wechat: '微信', forum: '论坛', video: '视频', blog: '博客', app: '客户端', import: '导入', notice: '网信通报' };
  var WEEKDAY = ['日', '一', '二', '三', '四', '五', '六'];
  var HEALTH_ZH = { 'new': '未运行', ok: '正常', silent: '沉默', broken: '故障' };
  var HEALTH_RANK = { broken: 0, silent: 1, 'new': 2, ok: 3 };  // silent and broken first
  var SOURCES_TITLE = '沉默（长时间没有新内容）或故障（连续抓取失败）的信息源数量；点击查看全部信息源';
  var DAY_MS = 864e5;
  var CHINA_MS = 8 * 3600e3;  // the crawler counts days in China time

  var $ = function (id) { return document.getElementById(id); };

  // ---------- small helpers ----------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function toDate(s) {
    if (!s) return null;
    var d = new Date(s);
    if (isNaN(d.getTime()) || d.getFullYear() < 1971) return null;
    return d;
  }
  function fmtTime(s) {
    var d = toDate(s);
    if (!d) return '--:--';
    var now = new Date();
    var hm = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return hm;
    return pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + hm.slice(0, 5);
  }
  function fmtNum(n) {
    n = Number(n) || 0;
    if (Math.abs(n) >= 1e8) return (n / 1e8).toFixed(1) + '亿';
    if (Math.abs(n) >= 1e5) return (n / 1e4).toFixed(1) + '万';
    return n.toLocaleString('zh-CN');
  }
  // fmtDur: 38分15秒, 4小时12分, 46小时59分 (the legal clocks count hours), 4天3小时 beyond 72 hours.
  function fmtDur(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (h >= 72) return Math.floor(h / 24) + '天' + (h % 24) + '小时';
    if (h > 0) return h + '小时' + m + '分';
    return m + '分' + pad(sec) + '秒';
  }
  function truncate(s, n) {
    s = String(s || '').replace(/\s+/g, ' ').trim();
    var chars = Array.from(s);
    return chars.length > n ? chars.slice(0, n).join('') + '…' : s;
  }
  // safeHref returns an absolute http(s) address or null (never javascript: and the like).
  function safeHref(u) {
    if (!u) return null;
    try {
      var p = new URL(String(u), location.href);
      return (p.protocol === 'http:' || p.protocol === 'https:') ? p.href : null;
    } catch (e) { return null; }
  }
  function link(text, href, cls) {
    var h = safeHref(href);
    if (!h) return el('span', cls, text);
    var a = el('a', cls, text);
    a.href = h;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }
  function gradeBadge(g) {
    g = Number(g) || 0;
    var b = el('span', 'badge grade grade-' + (GRADE_ROMAN[g] ? g : 0));
    b.textContent = GRADE_ROMAN[g] ? GRADE_ROMAN[g] + '级 ' + GRADE_ZH[g] : '未分级';
    return b;
  }
  function sentimentBadge(label) {
    var zh = SENTIMENT[label];
    if (!zh) return null;
    return el('span', 'badge sent-' + label, zh);
  }
  var toastTimer = 0;
  function toast(msg, isError) {
    var t = $('toast');
    t.textContent = msg;
    t.className = 'toast' + (isError ? ' error' : '');
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, isError ? 6000 : 3000);
  }
  function getJSON(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
      return r.text().then(function (body) {
        var j = null;
        try { j = body ? JSON.parse(body) : null; } catch (e) { /* not JSON */ }
        if (!r.ok) throw new Error((j && (j.error || j.message)) || ('HTTP ' + r.status));
        return j;
      });
    });
  }

  // ---------- state ----------
  var state = {
    posts: 0,          // posts seen by the server hub (from stats), else by this page
    localPosts: 0,
    dropped: 0,
    events: new Map(),
    cases: new Map(),
    feedQueue: [],
    paused: false,
    recent: [],        // arrival times of feed posts, for the rate
    openReasons: new Set(),
    sources: new Map(), // source name -> Health
    sourcesKnown: false, // a list was loaded or a source message came
    sourcesLoaded: false, // a list was loaded: later lists tell changes
    sourcesNote: ''     // the server's word when this process does not crawl
  };

  // ---------- counters and header ----------
  function setConn(st, text) {
    var c = $('conn');
    c.dataset.state = st;
    $('conn-text').textContent = text;
  }
  function overdueCount() {
    var now = Date.now(), n = 0;
    state.cases.forEach(function (c) {
      if ((c.clocks || []).some(function (k) { return !k.stopped_at && toDate(k.due_at) && toDate(k.due_at).getTime() < now; })) n++;
    });
    return n;
  }
  function renderCounters() {
    $('c-posts').textContent = fmtNum(Math.max(state.posts, state.localPosts));
    $('c-events').textContent = fmtNum(state.events.size);
    $('c-cases').textContent = fmtNum(state.cases.size);
    var od = overdueCount();
    var o = $('c-overdue');
    o.textContent = fmtNum(od);
    o.classList.toggle('zero', od === 0);
    $('c-dropped').textContent = fmtNum(state.dropped);
  }
  function tickNow() {
    var d = new Date();
    $('now').textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' 星期' + WEEKDAY[d.getDay()] + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // ---------- posts ----------
  function postView(d, isNew) {
    var a = d.analysis || {};
    var li = el('li', 'post' + (isNew ? ' new' : ''));
    var meta = el('div', 'meta');
    meta.appendChild(el('span', 't', fmtTime(d.published_at || d.received_at)));
    if (d.source) meta.appendChild(el('span', 'src', SOURCE_ZH[d.source] || d.source));
    var au = d.author || {};
    if (au.name) {
      var an = el('span', 'author', au.name);
      if (au.followers) an.title = '粉丝 ' + fmtNum(au.followers);
      meta.appendChild(an);
      if (au.verified) meta.appendChild(el('span', 'v', '认证'));
    }
    var sb = sentimentBadge(a.sentiment && a.sentiment.label);
    if (sb) {
      if (a.sentiment.confidence) sb.title = '置信度 ' + Math.round(a.sentiment.confidence * 100) + '%';
      meta.appendChild(sb);
    }
    if (d.parent_id) meta.appendChild(el('span', 'src', '转评'));
    li.appendChild(meta);

    var text = el('div', 'text');
    if (d.title) text.appendChild(link(truncate(d.title, 60), d.url, 'title'));
    var body = d.text || (d.parent_id ? '（转发）' : '');
    if (body) text.appendChild(d.title ? el('span', null, truncate(body, TEXT_MAX)) : link(truncate(body, TEXT_MAX), d.url));
    if (d.text) text.title = truncate(d.text, 600);
    li.appendChild(text);

    var places = (a.places && a.places.length) ? a.places : (d.region ? [d.region] : []);
    if (places.length) {
      var chips = el('div', 'chips');
      places.slice(0, 6).forEach(function (p) { chips.appendChild(el('span', 'chip', p)); });
      li.appendChild(chips);
    }
    return li;
  }

  var feedScheduled = false;
  function onPost(d) {
    state.localPosts++;
    state.recent.push(Date.now());
    state.feedQueue.push(d);
    if (state.feedQueue.length > FEED_MAX) state.feedQueue.splice(0, state.feedQueue.length - FEED_MAX);
    if (!state.paused) scheduleFeed();
  }
  function scheduleFeed() {
    if (feedScheduled) return;
    feedScheduled = true;
    // rAF does not run in hidden tabs; the queue is bounded meanwhile.
    requestAnimationFrame(flushFeed);
  }
  function flushFeed() {
    feedScheduled = false;
    if (state.paused || !state.feedQueue.length) return;
    var feed = $('feed');
    var frag = document.createDocumentFragment();
    for (var i = state.feedQueue.length - 1; i >= 0; i--) frag.appendChild(postView(state.feedQueue[i], true));
    state.feedQueue = [];
    feed.insertBefore(frag, feed.firstChild);
    while (feed.childNodes.length > FEED_MAX) feed.removeChild(feed.lastChild);
  }
  function updateFeedRate() {
    var cut = Date.now() - 5000;
    while (state.recent.length && state.recent[0] < cut) state.recent.shift();
    var r = $('feed-rate');
    var s = '每秒约 ' + (state.recent.length / 5).toFixed(1) + ' 条';
    if (state.paused) s += ' · 已暂停，' + state.feedQueue.length + ' 条待显示';
    r.textContent = s;
  }

  // ---------- events ----------
  var eventsScheduled = false;
  function upsertEvent(e) {
    if (!e || !e.id) return;
    state.events.set(e.id, e);
    if (state.events.size > EVENTS_KEPT) {
      var all = Array.from(state.events.values()).sort(function (a, b) { return (b.heat || 0) - (a.heat || 0); });
      all.slice(EVENTS_KEPT).forEach(function (x) { state.events.delete(x.id); });
    }
    scheduleEvents();
  }
  function scheduleEvents() {
    if (eventsScheduled) return;
    eventsScheduled = true;
    setTimeout(function () { eventsScheduled = false; renderEvents(); }, 250);
  }
  function renderEvents() {
    var list = $('events');
    var evs = Array.from(state.events.values()).sort(function (a, b) { return (b.heat || 0) - (a.heat || 0); }).slice(0, EVENTS_SHOWN);
    var max = evs.reduce(function (m, e) { return Math.max(m, e.heat || 0); }, 0) || 1;
    var frag = document.createDocumentFragment();
    evs.forEach(function (e) { frag.appendChild(eventView(e, max)); });
    var top = list.scrollTop;
    clear(list);
    list.appendChild(frag);
    list.scrollTop = top;
    renderCounters();
  }
  function eventView(e, max) {
    var li = el('li', 'event');
    var reasons = Array.isArray(e.reasons) ? e.reasons : [];
    if (reasons.length) li.title = reasons.join('\n');
    var r1 = el('div', 'row1');
    r1.appendChild(gradeBadge(e.grade));
    r1.appendChild(el('span', 'title', e.title || '（无标题）'));
    li.appendChild(r1);

    var heat = el('div', 'heat');
    var bar = el('div', 'heatbar');
    var fill = el('div', 'fill');
    fill.style.width = Math.max(2, Math.min(100, (e.heat || 0) / max * 100)).toFixed(1) + '%';
    bar.appendChild(fill);
    heat.appendChild(bar);
    heat.appendChild(el('span', 'hv', (e.heat || 0).toFixed(1)));
    li.appendChild(heat);

    var st = el('div', 'stats');
    function stat(label, value) {
      var s = el('span', null, label + ' ');
      s.appendChild(el('b', null, value));
      st.appendChild(s);
    }
    stat('信息', fmtNum(e.posts));
    stat('峰值', fmtNum(e.peak_hourly) + '/小时');
    if (e.posts) stat('负面', Math.round((e.negative || 0) / e.posts * 100) + '%');
    if (e.reach) stat('覆盖', fmtNum(e.reach));
    if (e.region) stat('地区', e.region);
    stat('最近', fmtTime(e.last_at));
    li.appendChild(st);

    if (e.keywords && e.keywords.length) {
      var kw = el('div', 'chips');
      e.keywords.slice(0, 6).forEach(function (k) { kw.appendChild(el('span', 'chip', k)); });
      li.appendChild(kw);
    }
    if (reasons.length) {
      var det = el('details', 'reasons');
      det.open = state.openReasons.has(e.id);
      det.addEventListener('toggle', function () {
        if (det.open) state.openReasons.add(e.id); else state.openReasons.delete(e.id);
      });
      det.appendChild(el('summary', null, '分级依据（' + reasons.length + '）'));
      var ul = el('ul');
      reasons.forEach(function (r) { ul.appendChild(el('li', null, r)); });
      det.appendChild(ul);
      li.appendChild(det);
    }
    return li;
  }

  // ---------- cases ----------
  var clockViews = [];   // {el, remain, clock, item}
  var casesScheduled = false;
  function upsertCase(c) {
    if (!c || !c.id) return;
    if (c.status === 'closed') state.cases.delete(c.id); else state.cases.set(c.id, c);
    scheduleCases();
  }
  function scheduleCases() {
    if (casesScheduled) return;
    casesScheduled = true;
    setTimeout(function () { casesScheduled = false; renderCases(); }, 100);
  }
  // urgency: the earliest due time among running clocks; stopped-only cases last.
  function urgency(c) {
    var t = Infinity;
    (c.clocks || []).forEach(function (k) {
      var d = toDate(k.due_at);
      if (!k.stopped_at && d) t = Math.min(t, d.getTime());
    });
    return t;
  }
  function renderCases() {
    var list = $('cases');
    var cs = Array.from(state.cases.values()).sort(function (a, b) {
      var ua = urgency(a), ub = urgency(b);
      if (ua !== ub) return ua < ub ? -1 : 1;
      return (b.heat || 0) - (a.heat || 0);
    });
    clockViews = [];
    var frag = document.createDocumentFragment();
    cs.forEach(function (c) { frag.appendChild(caseView(c)); });
    var top = list.scrollTop;
    clear(list);
    list.appendChild(frag);
    list.scrollTop = top;
    tickClocks();
    renderCounters();
  }
  function caseView(c) {
    var li = el('li', 'case');
    var r1 = el('div', 'row1');
    r1.appendChild(gradeBadge(c.grade));
    if (c.grade && !c.grade_confirmed) r1.lastChild.title = '系统建议分级，待研判确认';
    r1.appendChild(el('span', 'title', c.title || '（无标题）'));
    r1.appendChild(el('span', 'badge status status-' + (STATUS_ZH[c.status] ? c.status : 'x'), STATUS_ZH[c.status] || c.status || '未知'));
    li.appendChild(r1);
    if (Array.isArray(c.reasons) && c.reasons.length) r1.title = c.reasons.join('\n');

    var unit = el('div', 'unit', '责任单位：' + (c.unit_name || c.unit_id || '未分派'));
    if (c.route_reason) unit.title = c.route_reason;
    li.appendChild(unit);

    var ul = el('ul', 'clocks');
    (c.clocks || []).forEach(function (k) {
      var row = el('li', 'clock');
      var name = el('span', 'name', (k.name || k.kind) + (k.hours ? '（' + k.hours + '小时）' : ''));
      row.appendChild(name);
      var remain = el('span', 'remain');
      if (k.stopped_at) {
        var due = toDate(k.due_at), stop = toDate(k.stopped_at);
        var late = due && stop && stop > due;
        row.classList.add('stopped');
        var wrap = el('span', 'remain', (late ? '超时完成 ' : '已完成 ') + fmtTime(k.stopped_at));
        if (late) wrap.classList.add('late');
        if (k.evidence_url) {
          wrap.appendChild(document.createTextNode(' · '));
          wrap.appendChild(link('证据', k.evidence_url));
        }
        row.appendChild(wrap);
      } else {
        row.appendChild(remain);
        clockViews.push({ row: row, remain: remain, clock: k, item: li });
      }
      ul.appendChild(row);
    });
    li.appendChild(ul);

    var acts = el('div', 'actions');
    if (c.status === 'open') {
      var sign = el('button', 'btn primary', '签收');
      sign.type = 'button';
      sign.addEventListener('click', function () { doSign(c, sign); });
      acts.appendChild(sign);
    }
    if (c.status !== 'answered' && c.status !== 'closed') {
      var resp = el('button', 'btn', '回应');
      resp.type = 'button';
      resp.addEventListener('click', function () { doRespond(c, resp); });
      acts.appendChild(resp);
    }
    if (acts.childNodes.length) li.appendChild(acts);
    return li;
  }
  // tickClocks updates every running countdown: amber under 25% left, red when overdue.
  function tickClocks() {
    var now = Date.now();
    var items = new Map();
    clockViews.forEach(function (v) {
      var due = toDate(v.clock.due_at);
      var cls = 'ok', text;
      if (!due) {
        text = '期限未知';
      } else {
        var left = due.getTime() - now;
        var total = (v.clock.hours || 0) * 3600e3;
        if (!total) { var st = toDate(v.clock.started_at); total = st ? due - st : 0; }
        if (left <= 0) { cls = 'overdue'; text = '已超时 ' + fmtDur(-left); }
        else { if (total && left < total * 0.25) cls = 'warn'; text = '剩余 ' + fmtDur(left); }
        v.remain.title = '截止 ' + due.toLocaleString('zh-CN', { hour12: false });
      }
      if (v.remain.textContent !== text) v.remain.textContent = text;
      v.row.className = 'clock ' + cls;
      var rank = { ok: 0, warn: 1, overdue: 2 };
      var prev = items.get(v.item);
      if (!prev || rank[cls] > rank[prev]) items.set(v.item, cls);
    });
    items.forEach(function (cls, item) {
      item.classList.toggle('overdue', cls === 'overdue');
      item.classList.toggle('warn', cls === 'warn');
    });
  }

  // ---------- case actions ----------
  function actor() {
    var input = $('actor');
    var name = input.value.trim();
    if (!name) {
      name = (window.prompt('请输入值班人姓名（将记入案件处理记录）：') || '').trim();
      if (!name) return null;
      input.value = name;
      saveActor();
    }
    return name;
  }
  function saveActor() {
    try { localStorage.setItem(ACTOR_KEY, $('actor').value.trim()); } catch (e) { /* storage disabled */ }
  }
  function postAction(c, body, btn, done) {
    btn.disabled = true;
    fetch('/api/v1/cases/' + encodeURIComponent(c.id) + '/actions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { /* not JSON */ }
        if (!r.ok) throw new Error((j && (j.error || j.message)) || ('HTTP ' + r.status));
        return j;
      });
    }).then(function (j) {
      var updated = j && (j.case || (j.id && j.status ? j : null));
      if (updated) upsertCase(updated);
      toast(done);
    }).catch(function (err) {
      toast('操作失败：' + err.message, true);
    }).then(function () { btn.disabled = false; });
  }
  function doSign(c, btn) {
    var who = actor();
    if (!who) return;
    postAction(c, { action: 'sign', actor: who, note: '' }, btn, '已签收：' + truncate(c.title, 30));
  }
  function doRespond(c, btn) {
    var who = actor();
    if (!who) return;
    var u = window.prompt('请输入回应证据的网址（权威信息发布、回应稿、发布会通稿等）：', '');
    if (u === null) return;
    u = u.trim();
    if (!safeHref(u) || !/^https?:/i.test(u)) { toast('请输入以 http 或 https 开头的完整网址', true); return; }
    postAction(c, { action: 'respond', actor: who, note: '', evidence_url: u }, btn, '已记录回应：' + truncate(c.title, 30));
  }

  // ---------- crawled sources' health ----------
  // A source that stopped yielding posts looks exactly like a calm day: the
  // header counts silent and broken sources, the panel lists them all.
  function alarming(h) { return !!h && (h.status === 'silent' || h.status === 'broken'); }
  function healthRank(h) { var r = HEALTH_RANK[h.status]; return r === undefined ? 2 : r; }
  function chinaDay(ms) { return new Date(ms + CHINA_MS).toISOString().slice(0, 10); }
  function trimNum(x, digits) { return String(Number(x.toFixed(digits))); }
  function fmtAgo(ms) {
    var m = Math.max(0, Math.floor(ms / 60000));
    if (m < 1) return '不到 1 分钟前';
    if (m < 60) return m + ' 分钟前';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' 小时前';
    return Math.floor(h / 24) + ' 天前';
  }
  function fmtAbs(d) { return d.toLocaleString('zh-CN', { hour12: false }); }
  // perDay: posts per full day (China time) before today, over at most the
  // last 14 days and not before the source's first run. daily only has the
  // days that gave posts: a day without an entry counts as 0.
  function perDay(h, now) {
    var today = chinaDay(now);
    var daily = (Array.isArray(h.daily) ? h.daily : []).filter(function (d) {
      return d && typeof d.day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d.day);
    });
    var oldest = daily.reduce(function (m, d) { return !m || d.day < m ? d.day : m; }, '');
    var first = toDate(h.first_run);
    // the crawler keeps 14 entries: beyond that the oldest kept day is the start
    var start = first && daily.length < 14 ? chinaDay(first.getTime()) : oldest;
    if (!start) return null;
    var floor = chinaDay(now - 14 * DAY_MS);
    if (start < floor) start = floor;
    var days = Math.round((Date.parse(today) - Date.parse(start)) / DAY_MS);
    if (!(days > 0)) return null;
    var sum = 0;
    daily.forEach(function (d) { if (d.day >= start && d.day < today) sum += Number(d.n) || 0; });
    return { mean: sum / days, days: days };
  }
  // newerThan: a is the health of a later run than b (messages and the list may cross).
  function newerThan(a, b) {
    var ta = toDate(a.last_run), tb = toDate(b.last_run);
    return !!ta && (!tb || ta.getTime() > tb.getTime());
  }
  function sourceAlarmText(h) {
    var what = h.status === 'broken' ? '故障' : '沉默';
    var why = h.reason ? truncate(h.reason, 120) : (h.status === 'broken' ? '连续抓取失败' : '长时间没有新内容，勿把沉默当作平静');
    return '信息源「' + truncate(h.source, 30) + '」' + what + '：' + why;
  }
  // upsertSource stores h and reports whether the source just turned silent or broken.
  function upsertSource(h) {
    if (!h || typeof h !== 'object' || !h.source || typeof h.source !== 'string') return false;
    var prev = state.sources.get(h.source);
    if (prev && newerThan(prev, h)) return false;
    var had = state.sourcesKnown;
    state.sources.set(h.source, h);
    state.sourcesKnown = true;
    return alarming(h) && (prev ? prev.status !== h.status : had);
  }
  var sourcesScheduled = false;
  function scheduleSources() {
    if (sourcesScheduled) return;
    sourcesScheduled = true;
    setTimeout(function () { sourcesScheduled = false; renderSources(); }, 250);
  }
  function renderSources() {
    var bad = [];
    state.sources.forEach(function (h) { if (alarming(h)) bad.push(h.source); });
    var v = $('c-sources');
    v.textContent = state.sourcesKnown ? fmtNum(bad.length) : '—';
    v.classList.toggle('zero', bad.length === 0);
    var btn = $('sources-btn');
    var title = SOURCES_TITLE;
    if (!state.sourcesKnown) title += '\n信息源状态未知' + (state.sourcesNote ? '：' + state.sourcesNote : '');
    else if (state.sourcesNote) title += '\n' + state.sourcesNote + '；只计打开页面后推送来的信息源';
    if (bad.length) title += '\n' + bad.sort().slice(0, 10).map(function (n) { return truncate(n, 30); }).join('、') + (bad.length > 10 ? ' 等' : '');
    btn.title = title;
    if (!$('sources-panel').hidden) renderSourceList();
  }
  function statSpan(parent, label, value, title) {
    var s = el('span', null, label + ' ');
    s.appendChild(el('b', null, value));
    if (title) s.title = title;
    parent.appendChild(s);
  }
  function sourceView(h, now) {
    var st = HEALTH_ZH[h.status] ? h.status : 'x';
    var li = el('li', 'source health-' + st);
    var r1 = el('div', 'row1');
    r1.appendChild(el('span', 'badge hstat hstat-' + st, HEALTH_ZH[h.status] || h.status || '未知'));
    r1.appendChild(el('span', 'name', h.source));
    var last = toDate(h.last_new);
    var ln = el('span', 'last', last ? '最新内容 ' + fmtAgo(now - last.getTime()) : '尚无新内容');
    if (last) ln.title = '最新内容 ' + fmtAbs(last);
    r1.appendChild(ln);
    li.appendChild(r1);

    var stats = el('div', 'stats');
    var pd = perDay(h, now);
    statSpan(stats, '日均', pd ? (pd.mean >= 10 ? fmtNum(Math.round(pd.mean)) : trimNum(pd.mean, 1)) + ' 条' : '—',
      pd ? '最近 ' + pd.days + ' 个整日（不含今天）平均每天的新内容条数' : '尚无整日数据');
    var runs = Number(h.runs) || 0;
    var rate = Math.min(1, Math.max(0, Number(h.error_rate) || 0));
    statSpan(stats, '错误率', runs ? Math.round(rate * 100) + '%' : '—',
      '近期抓取失败的比例（越近的运行权重越大）；累计 ' + fmtNum(runs) + ' 次运行，失败 ' + fmtNum(h.failed_runs) + ' 次');
    var iv = (Number(h.interval_ns) || 0) / 6e10;
    var next = toDate(h.next_run);
    statSpan(stats, '间隔', iv > 0 ? (iv < 10 ? trimNum(iv, 1) : fmtNum(Math.round(iv))) + ' 分钟' : '—',
      '当前自适应抓取间隔' + (next ? '；下次运行 ' + fmtAbs(next) : ''));
    var ce = Number(h.consecutive_errors) || 0;
    if (ce > 0) statSpan(stats, '连续失败', ce + ' 次', h.last_error ? truncate(h.last_error, 300) : '');
    li.appendChild(stats);
    if (h.reason) li.appendChild(el('div', 'reason', truncate(h.reason, 400)));
    return li;
  }
  var sourcesRenderedAt = 0;
  function renderSourceList() {
    var now = Date.now();
    sourcesRenderedAt = now;
    var hs = Array.from(state.sources.values()).sort(function (a, b) {
      var d = healthRank(a) - healthRank(b);
      return d || String(a.source).localeCompare(String(b.source), 'zh-CN');
    });
    var silent = 0, broken = 0;
    hs.forEach(function (h) { if (h.status === 'silent') silent++; if (h.status === 'broken') broken++; });
    var sum = state.sourcesKnown ? '共 ' + hs.length + ' 个，沉默 ' + silent + ' 个，故障 ' + broken + ' 个' : '状态未知';
    if (state.sourcesNote) sum += '（' + state.sourcesNote + '）';
    $('sources-summary').textContent = sum;
    var list = $('sources-list');
    list.dataset.empty = state.sourcesNote ? '本进程未运行采集；信息源状态有变化时将显示在此' : (state.sourcesKnown ? '暂无信息源' : '信息源状态未加载');
    var frag = document.createDocumentFragment();
    hs.forEach(function (h) { frag.appendChild(sourceView(h, now)); });
    var top = list.scrollTop;
    clear(list);
    list.appendChild(frag);
    list.scrollTop = top;
  }
  function showSources(open) {
    var panel = $('sources-panel'), btn = $('sources-btn');
    if (open === panel.hidden) {
      panel.hidden = !open;
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open) {
        $('search-panel').hidden = true;
        renderSourceList();
        $('sources-close').focus();
      } else if (document.activeElement && panel.contains(document.activeElement)) {
        btn.focus();
      }
    }
  }
  function loadSources() {
    return getJSON('/api/v1/sources').then(function (j) {
      var list = (j && Array.isArray(j.sources)) ? j.sources : [];
      var had = state.sourcesLoaded, old = state.sources, turned = [];
      state.sources = new Map();
      list.forEach(function (h) {
        if (!h || typeof h !== 'object' || !h.source || typeof h.source !== 'string') return;
        var prev = old.get(h.source);
        if (prev && newerThan(prev, h)) { state.sources.set(h.source, prev); return; }
        state.sources.set(h.source, h);
        if (had && alarming(h) && (!prev || prev.status !== h.status)) turned.push(h);
      });
      state.sourcesNote = (j && typeof j.message === 'string' && !list.length) ? truncate(j.message, 200) : '';
      if (state.sourcesNote) {
        // this process does not crawl: keep what the stream told us
        old.forEach(function (h, name) { if (!state.sources.has(name)) state.sources.set(name, h); });
      } else {
        state.sourcesKnown = true;
      }
      state.sourcesLoaded = true;
      renderSources();
      if (turned.length === 1) toast(sourceAlarmText(turned[0]), true);
      else if (turned.length > 1) {
        toast(turned.length + ' 个信息源转为沉默或故障：' + turned.slice(0, 5).map(function (h) { return '「' + truncate(h.source, 20) + '」'; }).join('') +
          '，请打开“信息源告警”查看，勿把沉默当作平静', true);
      }
    }).catch(function (err) {
      toast('信息源状态加载失败：' + err.message, true);
      renderSources();
    });
  }

  // ---------- search ----------
  function bars(ul, items, labelOf, clsOf) {
    clear(ul);
    var max = items.reduce(function (m, t) { return Math.max(m, t.count || 0); }, 0) || 1;
    items.forEach(function (t) {
      var li = el('li');
      li.appendChild(el('span', 'term', labelOf(t.term)));
      var b = el('span', 'bar');
      var f = el('span', clsOf ? clsOf(t.term) : null);
      f.style.width = ((t.count || 0) / max * 100).toFixed(1) + '%';
      b.appendChild(f);
      li.appendChild(b);
      li.appendChild(el('span', 'n', fmtNum(t.count)));
      ul.appendChild(li);
    });
  }
  var searchSeq = 0;
  function search(q) {
    var seq = ++searchSeq;
    showSources(false);
    $('search-panel').hidden = false;
    $('search-summary').textContent = '检索中…';
    clear($('search-hits'));
    getJSON('/api/v1/search?q=' + encodeURIComponent(q) + '&size=50').then(function (res) {
      if (seq !== searchSeq) return;
      res = res || {};
      var hits = res.hits || [];
      $('search-summary').textContent = (q ? '“' + truncate(q, 30) + '” ' : '全部信息 ') + '共 ' + fmtNum(res.total || 0) + ' 条' +
        (hits.length < (res.total || 0) ? '，显示前 ' + hits.length + ' 条' : '');
      var aggs = res.aggregations || {};
      bars($('agg-sentiment'), aggs.by_sentiment || [], function (t) { return SENTIMENT[t] || t || '未知'; }, function (t) { return 's-' + t; });
      bars($('agg-region'), (aggs.by_region || []).slice(0, 12), function (t) { return t || '未知'; });
      var kw = $('agg-keywords');
      clear(kw);
      (aggs.top_keywords || []).slice(0, 20).forEach(function (t) {
        var chip = el('span', 'chip', t.term);
        chip.title = fmtNum(t.count) + ' 条';
        kw.appendChild(chip);
      });
      var list = $('search-hits');
      var frag = document.createDocumentFragment();
      hits.forEach(function (h) { frag.appendChild(postView(h, false)); });
      list.appendChild(frag);
    }).catch(function (err) {
      if (seq !== searchSeq) return;
      $('search-summary').textContent = '检索失败：' + err.message;
    });
  }

  // ---------- initial load and live stream ----------
  function load() {
    var evs = getJSON('/api/v1/events?limit=20').then(function (j) {
      ((j && j.events) || []).forEach(upsertEvent);
      renderEvents();
    }).catch(function (err) { toast('热点事件加载失败：' + err.message, true); });
    var cs = getJSON('/api/v1/cases?open=1').then(function (j) {
      state.cases.clear();
      ((j && j.cases) || []).forEach(function (c) { if (c && c.id && c.status !== 'closed') state.cases.set(c.id, c); });
      renderCases();
    }).catch(function (err) { toast('待办案件加载失败：' + err.message, true); });
    return Promise.all([evs, cs, loadSources()]);
  }

  var backoff = 1000, ws = null, retryTimer = 0, everOpen = false;
  function connect() {
    var url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/api/v1/stream';
    setConn('connecting', '连接中…');
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws.onopen = function () {
      setConn('open', '实时连接正常');
      backoff = 1000;
      if (everOpen) load(); // catch up on what changed while we were away
      everOpen = true;
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || typeof m !== 'object') return;
      switch (m.type) {
        case 'post': if (m.data) onPost(m.data); break;
        case 'event': upsertEvent(m.data); break;
        case 'case': upsertCase(m.data); break;
        case 'source':
          if (upsertSource(m.data)) toast(sourceAlarmText(m.data), true);
          scheduleSources();
          break;
        case 'stats':
          if (m.data) {
            state.dropped = Number(m.data.dropped) || 0;
            state.posts = Number(m.data.posts) || 0;
            renderCounters();
          }
          break;
      }
    };
    ws.onclose = function () { ws = null; scheduleReconnect(); };
    ws.onerror = function () { /* onclose follows */ };
  }
  function scheduleReconnect() {
    clearTimeout(retryTimer);
    var wait = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, 30000);
    var until = Date.now() + wait;
    setConn(everOpen ? 'retry' : 'down', '连接中断，' + Math.ceil(wait / 1000) + ' 秒后重连');
    var countdown = setInterval(function () {
      var s = Math.ceil((until - Date.now()) / 1000);
      if (s > 0) $('conn-text').textContent = '连接中断，' + s + ' 秒后重连';
    }, 1000);
    retryTimer = setTimeout(function () { clearInterval(countdown); connect(); }, wait);
  }

  // ---------- wiring ----------
  function init() {
    try { $('actor').value = localStorage.getItem(ACTOR_KEY) || ''; } catch (e) { /* storage disabled */ }
    $('actor').addEventListener('change', saveActor);
    $('search-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      search($('q').value.trim());
    });
    $('search-close').addEventListener('click', function () { $('search-panel').hidden = true; });
    $('sources-btn').addEventListener('click', function () { showSources($('sources-panel').hidden); });
    $('sources-close').addEventListener('click', function () { showSources(false); });
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { $('search-panel').hidden = true; showSources(false); }
      if (ev.key === '/' && document.activeElement && document.activeElement.tagName !== 'INPUT') { ev.preventDefault(); $('q').focus(); }
    });
    $('feed-pause').addEventListener('click', function () {
      state.paused = !state.paused;
      this.textContent = state.paused ? '继续' : '暂停';
      if (!state.paused) scheduleFeed();
      updateFeedRate();
    });
    tickNow();
    setInterval(function () {
      tickNow(); tickClocks(); updateFeedRate(); renderCounters();
      if (!$('sources-panel').hidden && Date.now() - sourcesRenderedAt > 30000) renderSourceList(); // relative times
    }, 1000);
    load();
    connect();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
