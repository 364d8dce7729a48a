// A stand-in for Google's gtag.js, served by the demo as
// https://www.googletagmanager.com/gtag/js?id=G-… (Chrome maps the host to
// the demo's loopback vendor server). Like gtag.js it reads the page's
// dataLayer and sends each event as a GA4 hit to /g/collect
// (https://developers.google.com/analytics/devguides/collection/protocol/ga4):
// v=2, tid (the measurement id), en (the event name), dl (the page), with
// navigator.sendBeacon. storeprobe intercepts these hits in the browser and
// answers them itself, so they never leave the probe.
(function () {
  'use strict';
  var tid = null;
  var endpoint = 'https://region1.google-analytics.com/g/collect';
  function send(name, params) {
    if (!tid) return;
    var q = 'v=2&tid=' + encodeURIComponent(tid) + '&en=' + encodeURIComponent(name) +
      '&dl=' + encodeURIComponent(location.href) + '&dt=' + encodeURIComponent(document.title) +
      '&_p=' + Math.floor(Math.random() * 1e9);
    for (var k in params || {}) q += '&ep.' + encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    navigator.sendBeacon(endpoint + '?' + q);
  }
  function handle(args) {
    var a = Array.prototype.slice.call(args);
    if (a[0] === 'config') {
      tid = a[1];
      if (!a[2] || a[2].send_page_view !== false) send('page_view');
    } else if (a[0] === 'event') {
      send(a[1], a[2]);
    }
  }
  var dl = window.dataLayer = window.dataLayer || [];
  for (var i = 0; i < dl.length; i++) handle(dl[i]);
  var push = dl.push;
  dl.push = function () {
    for (var j = 0; j < arguments.length; j++) handle(arguments[j]);
    return push.apply(dl, arguments);
  };
})();
