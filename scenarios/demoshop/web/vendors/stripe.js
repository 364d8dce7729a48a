// A stand-in for Stripe.js v3, served by the demo as https://js.stripe.com/v3/
// (Chrome maps the host to the demo's loopback vendor server). It builds the
// DOM Stripe Elements documents for a mounted Card Element: inside the
// merchant's container, a div.__PrivateStripeElement holding an iframe named
// __privateStripeFrame<N> whose document is served from js.stripe.com
// (https://docs.stripe.com/js/element/mount). It never sees card data: the
// demo shop's checkout is in test mode and this frame only draws a field.
(function () {
  'use strict';
  var frames = 0;
  function Element(type) {
    this.type = type;
  }
  Element.prototype.mount = function (target) {
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) throw new Error('stripe: mount target not found');
    var wrap = document.createElement('div');
    wrap.className = '__PrivateStripeElement';
    wrap.style.cssText = 'margin:0!important;padding:0!important;border:none!important;display:block!important;background:transparent!important;position:relative!important;opacity:1!important';
    var frame = document.createElement('iframe');
    frame.name = '__privateStripeFrame' + (5000 + ++frames);
    frame.setAttribute('frameborder', '0');
    frame.setAttribute('allowtransparency', 'true');
    frame.setAttribute('scrolling', 'no');
    frame.setAttribute('role', 'presentation');
    frame.title = 'Secure card payment input frame';
    frame.src = 'https://js.stripe.com/v3/elements-inner-card-demo.html';
    frame.style.cssText = 'border:none!important;margin:0!important;padding:0!important;width:100%!important;min-width:100%!important;overflow:hidden!important;display:block!important;height:40px';
    wrap.appendChild(frame);
    host.appendChild(wrap);
  };
  function Elements() {}
  Elements.prototype.create = function (type) { return new Element(type); };
  window.Stripe = function (key) {
    if (!/^pk_(test|live)_/.test(String(key))) throw new Error('stripe: a publishable key is required');
    return { elements: function () { return new Elements(); } };
  };
})();
