// storeprobe in-page collector: Core Web Vitals, blocking time, the page's
// render-blocking resources and LCP resource, per page view.
//
// Installed with Page.addScriptToEvaluateOnNewDocument before any navigation,
// so its buffered PerformanceObservers see every entry of the document from
// its start. Definitions follow web.dev (and the web-vitals library):
//   FCP  first-contentful-paint startTime
//   LCP  last largest-contentful-paint candidate before the first input or
//        the page being hidden
//   CLS  largest session window of layout shifts without recent input
//        (windows end after a 1 s gap or at 5 s)
//   INP  worst interaction latency from Event Timing grouped by
//        interactionId, p98 (skip one per 50) when over 50 interactions;
//        like web-vitals, an interaction whose entries are all under the
//        16 ms threshold counts only through first-input (any duration, 0
//        included), and a page with interactions but no entry at all
//        reports 0
//   TTFB navigation responseStart
//   TBT  Lighthouse's Total Blocking Time: over the long tasks between FCP
//        and the end of observation, each clipped to that span, the sum of
//        their time beyond 50 ms
//
// Views. A document is one view; a soft navigation (a route change through
// the History API that an interaction caused and that repainted) starts a
// new one, with its own vitals measured from the route change, as
// web-vitals does with reportSoftNavs: FCP and LCP from Chrome's
// soft-navigation and interaction-contentful-paint entries relative to the
// soft navigation's start, CLS and INP of the entries Chrome tags with the
// view's navigationId (the interaction that caused the route change belongs
// to the view it left), TTFB not observed. Where Chrome exposes no
// soft-navigation entries, a fallback sees the same pattern itself: a
// trusted click or key press, then a History API URL change, then DOM
// nodes added and a frame painted; its LCP is the frame after the largest
// added text block or loaded image, sized by its box in the viewport.
//
// Observation. The Go side decides when a view is done (the settle rule)
// and ends it here with the run's nonce; a view also ends when it is left
// (navigation) or when a trusted input comes before it was done (input).
// TBT and long tasks stop at the end of observation; LCP stops at the first
// input; CLS and INP go on for as long as the view is the page.
//
// Values are pushed to Go through the CDP binding named below whenever they
// change, one message per view, and flushed synchronously on beforeunload,
// pagehide and visibilitychange so the INP of a click that navigates away is
// still delivered (see the fallback timing below).
//
// The page must not be able to forge or flood these reports: the binding is
// taken into this closure and deleted from window (in every frame, before
// anything else runs), and each message starts with a per-run nonce the Go
// side injects here and checks. The nonce lives only in this closure and is
// only ever concatenated to a string or compared, so no page hook (toJSON, a
// replaced JSON.stringify) sees it. Everything the Go side reads is bounded
// in size here and checked again there.
(() => {
  'use strict';
  const BINDING = '__storeprobeVitals';
  const NONCE = '__STOREPROBE_NONCE__';
  // 'auto' uses Chrome's soft-navigation entries where they exist; the Go
  // side sets 'fallback' to force the fallback (tests of it).
  const SOFTNAV = '__STOREPROBE_SOFTNAV__';
  const send = window[BINDING];
  try { delete window[BINDING]; } catch (_) { /* not configurable */ }
  if (window !== window.top) return; // top-level documents only
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return;
  if (typeof send !== 'function' || typeof PerformanceObserver !== 'function') return;
  const stringify = JSON.stringify;
  const raf = window.requestAnimationFrame;
  const now = () => performance.now();

  // Bounds on what one document keeps, whatever the page does.
  const MAX_VIEWS = 32; // views per document; later route changes stay in the last
  const MAX_TASKS = 500; // long tasks per view (TBT); later ones are counted, not kept
  const TOP_TASKS = 5; // longest tasks reported per view
  const TOP_SCRIPTS = 10; // scripts reported per view, by blocking time
  const TOP_BLOCKING = 5; // render-blocking resources reported
  const MAX_LOAF = 64; // long animation frames kept for attribution
  const MAX_RESOURCES = 400; // resource timing entries kept (LCP resource, render-blocking)
  const MAX_HELD = 500; // entries of a soft navigation not reported yet
  const MAX_ADDED = 200; // added elements followed by the fallback's LCP
  const URL_MAX = 300;
  const BLOCKING = 50; // a task blocks for its time beyond this (ms)

  const clipURL = (u) => (typeof u === 'string' ? (u.length > URL_MAX ? u.slice(0, URL_MAX) : u) : '');
  // Scripts are one script whatever their query (cache busters, ids).
  const scriptURL = (u) => clipURL(typeof u === 'string' ? u.split(/[?#]/)[0] : '');

  // A short CSS-like description of an element: tag#id.class1.class2.
  const describe = (el) => {
    if (!el || !el.tagName) return '';
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim() !== '') {
      s += '.' + el.className.trim().split(/\s+/).slice(0, 3).join('.');
    }
    return s.length > 120 ? s.slice(0, 120) : s;
  };

  const navEntry = () => performance.getEntriesByType('navigation')[0];
  const firstNav = navEntry();
  const docId = String(performance.timeOrigin) + '-' + Math.random().toString(36).slice(2, 10);
  const chromeSoftNavs = SOFTNAV !== 'fallback' && Array.isArray(PerformanceObserver.supportedEntryTypes) &&
    PerformanceObserver.supportedEntryTypes.includes('soft-navigation');
  const fallbackMode = !chromeSoftNavs;
  // Chrome tags entries with the navigationId of the view they belong to;
  // without it (or with the fallback, whose views Chrome does not know),
  // entries are placed by time.
  const hasNavIds = chromeSoftNavs && !!firstNav && firstNav.navigationId !== undefined;

  const newView = (soft, start, navId, interactionId, url, navType) => ({
    id: soft ? docId + '~' + views.length : docId,
    soft, start, navId, interactionId, url: clipURL(url), navType,
    seq: 0,
    fcp: null, lcp: null, lcpElement: '', lcpURL: '', lcpEntry: null, lcpSize: 0,
    lcpStopAt: Infinity, lastPaint: start,
    cls: 0, sessionValue: 0, sessionFirst: 0, sessionLast: 0,
    interactions: new Map(), inp: null, count: 0, countAtStart: 0, frozenCount: null,
    tasks: [], longTasks: 0, longest: 0,
    end: null, endReason: '',
    final: false, createdAt: now(),
  });
  const views = [];
  views.push(newView('', 0, hasNavIds ? firstNav.navigationId : undefined, 0, location.href, ''));
  const cur = () => views[views.length - 1];
  const viewByNav = (id) => {
    for (let i = views.length - 1; i >= 0; i--) if (views[i].navId === id) return views[i];
    return null;
  };
  // A soft navigation starts at its input, whose own entries belong to the
  // view before it: hence the strict comparison.
  const viewAt = (t) => {
    for (let i = views.length - 1; i > 0; i--) if (views[i].start < t) return views[i];
    return views[0];
  };

  // Where an entry belongs: its view by navigationId; an entry of a soft
  // navigation Chrome has not reported yet is held (null) until it is, or
  // placed by time once it has waited 3 s.
  let held = [];
  const place = (e) => {
    if (hasNavIds && e.navigationId !== undefined) return viewByNav(e.navigationId);
    return viewAt(e.startTime);
  };
  const hold = (e, cb, route) => {
    if (held.length < MAX_HELD) held.push({ e, cb, route, at: now() });
  };
  const releaseHeld = () => {
    if (!held.length) return;
    const t = now();
    const keep = [];
    const list = held;
    held = [];
    for (const h of list) {
      const v = h.route(h.e);
      if (v) h.cb(v, h.e);
      else if (t - h.at > 3000) h.cb(viewAt(h.e.startTime), h.e);
      else keep.push(h);
    }
    held = keep.concat(held);
  };
  // heldUntil is the end of the latest held entry: activity the settle
  // rule must wait for although no view has it yet.
  const heldUntil = () => {
    let t = 0;
    for (const h of held) t = Math.max(t, h.e.startTime + (h.e.duration || 0));
    return t;
  };
  const dispatch = (cb, route) => (entries) => {
    const r = route || place;
    for (const e of entries) {
      const v = r(e);
      if (v) cb(v, e); else hold(e, cb, r);
    }
  };

  // Inputs. LCP stops at the first input (web.dev: keydown or click/tap)
  // or hide. lastInput is the time of the latest real (trusted) discrete
  // input, for CLS: Chrome also marks shifts hadRecentInput for 500 ms after
  // an emulation resize (crbug.com/1094974), which would hide every early
  // shift of a mobile run; like Lighthouse, a shift is only excluded when an
  // input really came within 500 ms before it.
  let lastInput = -Infinity;
  const stopLCP = (t) => {
    const v = cur();
    if (v.lcpStopAt === Infinity) v.lcpStopAt = t;
  };
  const endView = (v, t, reason) => {
    if (v.end !== null) return false;
    v.end = Math.max(t, v.start);
    v.endReason = reason;
    v.seq++;
    return true;
  };
  for (const type of ['keydown', 'pointerdown', 'click']) {
    addEventListener(type, (e) => {
      const t = e.timeStamp || now();
      stopLCP(t);
      if (!e.isTrusted) return;
      lastInput = t;
      // The journey acted before the view was done.
      if (endView(cur(), t, 'input')) changed();
      if (type !== 'pointerdown') onTrustedInput(t);
    }, { capture: true, passive: true });
  }

  const onLCP = (v, e) => {
    if (v !== views[0] || e.startTime > v.lcpStopAt) return;
    v.lcp = e.startTime;
    v.lcpEntry = e;
    v.lcpURL = clipURL(e.url);
    v.lcpElement = describe(e.element) || (e.url ? 'img[src="' + e.url.slice(0, 80) + '"]' : '');
    v.lastPaint = Math.max(v.lastPaint, e.startTime);
  };

  // A soft navigation's LCP candidates (web-vitals: only those of the
  // interaction that caused it).
  const onICP = (v, e) => {
    if (!v.soft || e.interactionId !== v.interactionId) return;
    const l = e.largestContentfulPaint;
    const t = l ? (l.renderTime || l.startTime) : e.startTime + e.duration;
    if (t > v.lcpStopAt) return;
    v.lcp = Math.max(t - v.start, 0);
    v.lcpEntry = l || null;
    v.lcpURL = clipURL(l && l.url);
    v.lcpElement = describe((l && l.element) || e.element) || (l && l.url ? 'img[src="' + l.url.slice(0, 80) + '"]' : '');
    v.lastPaint = Math.max(v.lastPaint, t);
  };

  // FCP is sent at once, not with the coalesced changes a task later: a
  // page that is stopped soon after (its heap over the cap) still has it.
  const onPaint = (entries) => {
    for (const e of entries) {
      if (e.name === 'first-contentful-paint' && views[0].fcp === null) {
        views[0].fcp = e.startTime;
        if (views.length === 1) emitView(views[0]);
      }
    }
  };

  // CLS session windows, per view.
  const onShift = (v, e) => {
    if (e.hadRecentInput && e.startTime - lastInput <= 500) return;
    if (v.sessionValue > 0 && e.startTime - v.sessionLast < 1000 && e.startTime - v.sessionFirst < 5000) {
      v.sessionValue += e.value;
    } else {
      v.sessionValue = e.value;
      v.sessionFirst = e.startTime;
    }
    v.sessionLast = e.startTime;
    if (v.sessionValue > v.cls) v.cls = v.sessionValue;
    v.lastPaint = Math.max(v.lastPaint, e.startTime);
  };

  // INP: the longest event duration per interaction. Entries of the
  // 'event' type only come at or over the 16 ms threshold; the first-input
  // entry comes whatever its duration, so a fast first interaction is
  // recorded with its own (possibly 0) latency, as web-vitals does. The
  // interaction that caused a soft navigation belongs to the view it left.
  const eventView = (e) => {
    if (e.interactionId) {
      for (let i = views.length - 1; i > 0; i--) if (views[i].interactionId === e.interactionId) return views[i - 1];
    }
    return place(e);
  };
  const addEvent = (v, e) => {
    if (!e.interactionId) return;
    if (!v.interactions.has(e.interactionId) || e.duration > v.interactions.get(e.interactionId)) {
      v.interactions.set(e.interactionId, e.duration);
    }
  };
  const interactionCount = () => performance.interactionCount || 0;
  const updateINP = (v) => {
    // performance.interactionCount also counts interactions under the
    // threshold, which is what the p98 rule is defined on; a view that
    // was left keeps the count it had.
    const counted = v.frozenCount === null ? interactionCount() - v.countAtStart : v.frozenCount;
    const count = Math.max(counted, v.interactions.size);
    v.count = count;
    if (v.interactions.size === 0) {
      // web-vitals: interactions happened but none was captured: INP 0.
      if (count > 0) v.inp = 0;
      return;
    }
    const worst = Array.from(v.interactions.values()).sort((a, b) => b - a);
    v.inp = worst[Math.min(worst.length - 1, Math.floor(count / 50))];
  };
  const onEvents = (entries) => {
    seen(entries);
    dispatch(addEvent, eventView)(entries);
  };

  // Long tasks, and the long animation frames that say which script ran
  // them. lastLongTaskEnd serves the settle rule's main-thread quiet.
  let lastLongTaskEnd = 0;
  const loafs = [];
  const onTask = (v, e) => {
    lastLongTaskEnd = Math.max(lastLongTaskEnd, e.startTime + e.duration);
    if (v.end !== null && e.startTime >= v.end) return;
    v.longTasks++;
    v.longest = Math.max(v.longest, e.duration);
    if (v.tasks.length < MAX_TASKS) v.tasks.push({ s: e.startTime, d: e.duration, script: null });
  };
  const onLoAF = (entries) => {
    for (const e of entries) {
      const scripts = [];
      for (const s of e.scripts || []) {
        scripts.push({ s: s.startTime, e: s.startTime + s.duration, url: scriptURL(s.sourceURL) });
      }
      loafs.push({ s: e.startTime, e: e.startTime + e.duration, scripts });
      if (loafs.length > MAX_LOAF) loafs.shift();
    }
  };
  // The script that ran most of the task, from the long animation frame
  // that holds it; '' when Chrome attributes none.
  const attribute = (t) => {
    if (t.script !== null) return t.script;
    const end = t.s + t.d;
    let best = '', bestTime = 0;
    for (const f of loafs) {
      if (f.e < t.s || f.s > end) continue;
      for (const s of f.scripts) {
        const overlap = Math.min(s.e, end) - Math.max(s.s, t.s);
        if (overlap > bestTime) { bestTime = overlap; best = s.url; }
      }
    }
    if (best !== '' || loafs.length && loafs[loafs.length - 1].e >= end) t.script = best;
    return best;
  };

  // Resource timing, kept for the LCP resource and the render-blocking list.
  const resources = [];
  const onResource = (entries) => {
    for (const e of entries) {
      if (resources.length >= MAX_RESOURCES) resources.shift();
      resources.push({
        name: e.name, start: e.startTime, req: e.requestStart || e.startTime, end: e.responseEnd,
        blocking: e.renderBlockingStatus === 'blocking', initiator: e.initiatorType,
      });
    }
  };
  const blockingType = (initiator) => {
    if (initiator === 'link' || initiator === 'css') return 'css';
    if (initiator === 'script') return 'script';
    return 'other';
  };

  // An interaction that navigates away never gets its Event Timing entry
  // (the entry waits for the presentation of a frame the old document may
  // never make), and messages sent from pagehide are lost once the new
  // document has committed. So such an interaction is timed here, from the
  // event's timestamp to beforeunload, and sent while the document is
  // still attached. A link's or submit button's navigation starts after
  // the listeners have returned (in the same task for a link, in a posted
  // task for a form), so the last dispatch stays a candidate until its
  // own entry is seen. If the navigation came well after the dispatch
  // ended (a timer), only the dispatch itself is counted.
  //
  // Chrome 156 also sometimes emits no Event Timing entry at all for an
  // interaction after a soft navigation (it still counts it in
  // performance.interactionCount): so every trusted click and key press is
  // timed here too, from its timestamp to the frame after its listeners
  // ran, and that time is used when no entry for it has come 500 ms after
  // that frame and it is long enough (50 ms) that Chrome would have made
  // one.
  let leaving = false, last = null, fallbacks = 0;
  const own = []; // trusted clicks and key presses not yet matched to an entry
  const OWN_MIN = 50;
  const settleOwn = (force) => {
    const t = now();
    for (let i = own.length - 1; i >= 0; i--) {
      const c = own[i];
      if (!c.seen && (c.paint === null || (!force && t - c.paint < 500))) continue;
      own.splice(i, 1);
      if (c.seen || c.paint === null || c.paint - c.start < OWN_MIN) continue;
      const key = 'own-' + (++fallbacks);
      c.view.interactions.set(key, c.paint - c.start);
    }
  };
  const addFallback = (c) => {
    const t = now();
    if (c.seen || (c.end !== null && t - c.end > 1000)) return;
    const end = c.end === null || t - c.end < 50 ? t : c.end;
    if (!c.key) c.key = 'fallback-' + (++fallbacks);
    const d = end - c.start;
    const v = cur();
    if (!v.interactions.has(c.key) || d > v.interactions.get(c.key)) v.interactions.set(c.key, d);
  };
  const seen = (entries) => {
    for (const e of entries) {
      if (last !== null && Math.abs(e.startTime - last.start) < 1 && e.name === last.type) last.seen = true;
      for (const c of own) {
        if (Math.abs(e.startTime - c.start) < 1 && e.name === c.type) c.seen = true;
      }
    }
  };
  const afterFrame = (fn) => {
    try { raf.call(window, () => setTimeout(fn, 0)); } catch (_) { setTimeout(fn, 0); }
  };
  for (const type of ['pointerdown', 'pointerup', 'click', 'keydown', 'keyup']) {
    addEventListener(type, (e) => {
      const c = last = { type, start: e.timeStamp, end: null, seen: false, key: '', paint: null, view: cur() };
      if (e.isTrusted && (type === 'click' || type === 'keydown') && own.length < 50) own.push(c);
      // If a listener stops the event's propagation, the bubble listener
      // below never runs: end at the next frame instead.
      try { raf.call(window, () => { if (c.end === null) c.end = now(); }); } catch (_) { /* no frames */ }
      afterFrame(() => { c.paint = now(); changed(); });
    }, { capture: true });
    addEventListener(type, () => {
      if (last === null) return;
      if (leaving) { addFallback(last); flush(); }
      if (last.end === null) last.end = now();
    });
  }
  const leave = () => {
    stopLCP(now());
    endView(cur(), now(), 'navigation');
  };
  addEventListener('beforeunload', () => {
    leaving = true;
    if (last !== null) addFallback(last);
    leave();
    flush();
  }, { capture: true });

  // Soft navigations from Chrome's entries.
  const startView = (soft, start, navId, interactionId, url, navType) => {
    if (views.length >= MAX_VIEWS) return null;
    const prev = cur();
    endView(prev, start, 'navigation');
    prev.frozenCount = interactionCount() - prev.countAtStart;
    updateINP(prev);
    const v = newView(soft, start, navId, interactionId, url, navType);
    v.countAtStart = interactionCount();
    views.push(v);
    return v;
  };
  const onSoftNav = (entries) => {
    for (const e of entries) {
      if (viewByNav(e.navigationId)) continue;
      const v = startView('heuristics', e.startTime, e.navigationId, e.interactionId, e.name, e.navigationType || '');
      if (!v) continue;
      v.fcp = Math.max((e.presentationTime || e.paintTime || e.startTime + e.duration) - e.startTime, 0);
      v.lastPaint = e.startTime + v.fcp;
    }
    releaseHeld();
  };

  // Route changes: a History API URL change after a trusted input is a
  // pending route until it becomes a view (the settle rule waits for it);
  // the fallback also turns it into a view itself.
  let lastTrusted = -Infinity, urlChangedAt = -Infinity, lastMutation = 0;
  let candidate = null; // the fallback's route change waiting for its paint
  let mo = null;
  const added = [];
  // lastTrustedAt is when (performance.now()) the last input was seen, to
  // tell a view made since from one made before.
  let lastTrustedAt = -Infinity;
  const routePending = () => {
    if (lastTrusted === -Infinity || urlChangedAt < lastTrusted) return false;
    const v = cur();
    return !(v.soft && v.createdAt >= lastTrustedAt);
  };
  const onTrustedInput = (t) => {
    lastTrusted = t;
    lastTrustedAt = now();
    candidate = null;
    added.length = 0;
    if (mo === null && typeof MutationObserver === 'function') {
      mo = new MutationObserver((records) => {
        lastMutation = now();
        // Only the fallback needs the nodes: those added since the input
        // may make a route change a view, later ones its LCP.
        if (!fallbackMode || now() - lastTrustedAt > 5000) return;
        for (const r of records) {
          for (const n of r.addedNodes) {
            const el = n.nodeType === 1 ? n : n.parentElement;
            if (el && added.length < MAX_ADDED) added.push(el);
          }
        }
        if (candidate !== null) confirmCandidate();
        else measureAdded();
      });
      try { mo.observe(document, { childList: true, subtree: true, characterData: true }); } catch (_) { mo = null; }
    }
  };
  const onURLChange = (navType) => {
    const t = now();
    urlChangedAt = t;
    if (!fallbackMode || t - lastTrustedAt > 5000) return;
    const v = cur();
    if (v.soft && v.createdAt >= lastTrustedAt) { v.url = clipURL(location.href); return; } // a second change of one route
    candidate = { start: lastTrusted, url: location.href, navType, scheduled: false };
    if (added.length > 0) confirmCandidate();
  };
  // The fallback's view starts at the input; its FCP is the frame after
  // the first DOM change that followed the URL change.
  const confirmCandidate = () => {
    const c = candidate;
    if (c === null || c.scheduled) return;
    c.scheduled = true;
    const painted = () => {
      if (candidate !== c) return;
      candidate = null;
      const v = startView('fallback', c.start, undefined, 0, c.url, c.navType);
      if (!v) return;
      v.fcp = Math.max(now() - v.start, 0);
      v.lastPaint = now();
      measureAdded();
      changed();
    };
    try { raf.call(window, () => setTimeout(painted, 0)); } catch (_) { setTimeout(painted, 0); }
  };
  // The fallback's LCP: the largest added element with text or a loaded
  // image, by its box within the viewport, at the frame after it appeared.
  let measuring = false;
  const measureAdded = () => {
    const v = cur();
    if (v.soft !== 'fallback' || measuring || !added.length) return;
    measuring = true;
    const run = () => {
      measuring = false;
      const t = now();
      if (t > v.lcpStopAt || v !== cur()) return;
      const vw = innerWidth, vh = innerHeight;
      for (const el of added.splice(0)) {
        if (!el.isConnected) continue;
        const imgs = el.tagName === 'IMG' ? [el] : Array.from(el.querySelectorAll ? el.querySelectorAll('img') : []).slice(0, 20);
        const cands = [];
        for (const img of imgs) {
          if (img.complete && img.naturalWidth > 0) cands.push(img);
          else if (added.length < MAX_ADDED) img.addEventListener('load', () => { added.push(img); measureAdded(); }, { once: true });
        }
        if (el.tagName !== 'IMG' && (el.innerText || '').trim() !== '') cands.push(el);
        for (const c of cands) {
          const r = c.getBoundingClientRect();
          const w = Math.max(0, Math.min(r.right, vw) - Math.max(r.left, 0));
          const h = Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
          if (w * h > v.lcpSize) {
            v.lcpSize = w * h;
            v.lcp = Math.max(t - v.start, 0);
            v.lcpElement = describe(c);
            v.lcpURL = c.tagName === 'IMG' ? clipURL(c.currentSrc || c.src) : '';
            v.lcpEntry = c.tagName === 'IMG' ? { url: c.currentSrc || c.src, startTime: t } : null;
            v.lastPaint = t;
          }
        }
      }
      changed();
    };
    try { raf.call(window, () => setTimeout(run, 0)); } catch (_) { setTimeout(run, 0); }
  };
  if (typeof navigation === 'object' && navigation && typeof navigation.addEventListener === 'function') {
    navigation.addEventListener('currententrychange', (e) => {
      if (e.navigationType === 'push' || e.navigationType === 'replace') onURLChange(e.navigationType);
    });
  }

  // TBT over the view's long tasks between its FCP and the end of
  // observation (now while it is observed), each clipped to that span.
  const blocking = (v, fcpAt, endAt, t) => {
    const s = Math.max(t.s, fcpAt), e = Math.min(t.s + t.d, endAt);
    return e - s > BLOCKING ? e - s - BLOCKING : 0;
  };
  const r1 = (x) => Math.round(x * 10) / 10;
  const message = (v) => {
    if (v === cur()) updateINP(v);
    const nav = navEntry();
    const doc = v === views[0];
    const fcpAt = doc ? v.fcp : v.start + v.fcp;
    const endAt = v.end === null ? now() : v.end;
    let tbt = 0;
    const byScript = new Map();
    for (const t of v.tasks) {
      if (fcpAt === null || t.s >= endAt) continue;
      const b = blocking(v, fcpAt, endAt, t);
      if (b <= 0) continue;
      tbt += b;
      const url = attribute(t);
      byScript.set(url, (byScript.get(url) || 0) + b);
    }
    const tasks = v.tasks.slice().sort((a, b) => b.d - a.d).slice(0, TOP_TASKS)
      .map((t) => ({ start: r1(t.s - v.start), duration: r1(t.d), script: attribute(t) }));
    const scripts = Array.from(byScript, ([url, b]) => ({ url, blocking: r1(b) }))
      .sort((a, b) => b.blocking - a.blocking).slice(0, TOP_SCRIPTS);
    // The LCP breakdown, as web-vitals' attribution build makes it.
    let reqStart = null, respEnd = null;
    const ttfb = doc && nav ? nav.responseStart : 0;
    if (v.lcp !== null) {
      const le = v.lcpEntry;
      let res = null;
      if (le && le.url) {
        for (let i = resources.length - 1; i >= 0; i--) {
          const r = resources[i];
          if (r.name === le.url && r.req <= le.startTime) { res = r; break; }
        }
      }
      reqStart = Math.max(ttfb, res ? res.req - v.start : 0);
      respEnd = Math.min(v.lcp, Math.max(reqStart, res ? res.end - v.start : 0));
    }
    let rb = [], rbCount = 0;
    if (doc && v.fcp !== null) {
      for (const r of resources) {
        if (r.blocking && r.start < v.fcp) {
          rbCount++;
          rb.push({ url: clipURL(r.name), type: blockingType(r.initiator), start: r1(r.start), end: r1(r.end) });
        }
      }
      rb = rb.sort((a, b) => b.end - a.end).slice(0, TOP_BLOCKING);
    }
    const m = {
      id: v.id, doc: docId, soft: v.soft, url: v.url, seq: v.seq, final: v.final,
      start: v.start, nav_type: v.navType,
      fcp: v.fcp, lcp: v.lcp, lcp_element: v.lcpElement, lcp_url: v.lcpURL,
      lcp_request_start: reqStart, lcp_response_end: respEnd,
      cls: v.cls, inp: v.inp, interactions: v.count,
      ttfb: null, load: null, dcl: null,
      end: v.end === null ? null : v.end - v.start, end_reason: v.endReason,
      tbt: tbt, long_tasks: v.longTasks, longest_task: v.longest, tasks, scripts,
      render_blocking: rbCount, render_blocking_list: rb,
    };
    if (doc && nav) {
      if (nav.responseStart > 0) m.ttfb = nav.responseStart;
      if (nav.domContentLoadedEventEnd > 0) m.dcl = nav.domContentLoadedEventEnd;
      if (nav.loadEventEnd > 0) m.load = nav.loadEventEnd;
    }
    return m;
  };

  const observers = [];
  const observe = (type, cb, extra) => {
    try {
      const po = new PerformanceObserver((list) => { cb(list.getEntries()); changed(); });
      po.observe(Object.assign({ type, buffered: true }, extra || {}));
      observers.push([po, cb]);
    } catch (_) { /* entry type unsupported */ }
  };

  const emitView = (v) => {
    v.seq++;
    try { send(NONCE + stringify(message(v))); } catch (_) { /* binding gone */ }
  };
  // Every message carries all the view's values; only the current view
  // and a view that just ended change, so those are sent.
  const emit = () => {
    releaseHeld();
    settleOwn(false);
    const v = cur();
    if (views.length > 1) emitView(views[views.length - 2]);
    emitView(v);
  };

  // Coalesce changes within a task into one message.
  let pending = false;
  const changed = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; emit(); }, 0);
  };

  // drain processes entries the observers have not delivered yet.
  const drain = () => {
    for (const [po, cb] of observers) {
      const recs = po.takeRecords();
      if (recs.length) cb(recs);
    }
    releaseHeld();
  };
  // flush drains, then sends.
  const flush = () => {
    drain();
    emit();
  };

  observe('paint', onPaint);
  observe('resource', onResource);
  observe('long-animation-frame', onLoAF);
  observe('largest-contentful-paint', dispatch(onLCP));
  observe('layout-shift', dispatch(onShift));
  observe('longtask', dispatch(onTask));
  observe('event', onEvents, { durationThreshold: 16 });
  observe('first-input', onEvents);
  if (chromeSoftNavs) {
    observe('soft-navigation', onSoftNav);
    observe('interaction-contentful-paint', dispatch(onICP));
  }

  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') { stopLCP(now()); flush(); }
  }, { capture: true });
  addEventListener('pagehide', () => { leave(); for (const v of views) v.final = true; flush(); }, { capture: true });
  addEventListener('DOMContentLoaded', changed);
  addEventListener('load', () => setTimeout(changed, 0));

  const hidden = (name, value) => Object.defineProperty(window, name, { value, enumerable: false });
  // The Go side reads every view's current values with this at the end of
  // a page (a JSON array, one message per view).
  hidden('__storeprobeSnapshot', () => {
    drain();
    settleOwn(true);
    return stringify(views.map((v) => { v.seq++; return message(v); }));
  });
  const inViewport = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  };
  // Images in the viewport still loading: content the page will paint (an
  // LCP image is often one request in flight, which is no busy network).
  const pendingImages = () => {
    let n = 0;
    const imgs = document.images;
    for (let i = 0; i < imgs.length && i < 300; i++) {
      const img = imgs[i];
      if (img.complete || !(img.currentSrc || img.getAttribute('src'))) continue;
      if (inViewport(img)) n++;
    }
    return n;
  };
  // An image in the viewport that has just loaded is painted a frame or
  // more later (decoded, then its LCP entry comes), so its load counts as
  // a paint: the page is quiet a settle window after it. Without this a
  // look between the two saw nothing loading and a paint quiet since the
  // text, and the run ended without its LCP image (the mobile lazy-hero
  // page, once in 60 runs; another settled 2 ms after the image's LCP).
  // The loads are noted as they come (on the document: an element's load
  // event does not reach the window) and checked against the viewport
  // when the settle rule looks, so no load forces a layout of the page.
  let loaded = []; // {img, t}, the latest 300
  document.addEventListener('load', (e) => {
    if (!(e.target instanceof HTMLImageElement)) return;
    loaded.push({ img: e.target, t: now() });
    if (loaded.length > 300) loaded.shift();
  }, true);
  const lastImageLoad = (t) => {
    loaded = loaded.filter((l) => t - l.t < 5000); // far older than any settle window
    let last = 0;
    for (const l of loaded) if (l.t > last && inViewport(l.img)) last = l.t;
    return last;
  };
  // The settle rule's view of the page, after a 50 ms timer: a timer that
  // fires late means the main thread is busy now (Lighthouse's check).
  hidden('__storeprobeQuiet', () => new Promise((resolve) => {
    const asked = now();
    setTimeout(() => {
      const t = now();
      drain();
      const v = cur();
      resolve(stringify({
        id: v.id, now: t, painted: v.fcp !== null, ended: v.end !== null,
        paint_ms: t - Math.max(v.lastPaint, heldUntil(), lastImageLoad(t)),
        cpu_ms: t - asked - 50 > 50 ? 0 : t - lastLongTaskEnd,
        route: routePending(),
        mutation_ms: t - lastMutation,
        images: pendingImages(),
      }));
    }, 50);
  }));
  // The Go side ends the current view's observation (quiet or cap); only
  // with the run's nonce, so the page cannot end it.
  hidden('__storeprobeEnd', (nonce, id, reason) => {
    if (nonce !== NONCE || (reason !== 'quiet' && reason !== 'cap')) return false;
    const v = cur();
    if ((id !== '' && v.id !== id) || !endView(v, now(), reason)) return false;
    emitView(v);
    return true;
  });
  emit();
})();
