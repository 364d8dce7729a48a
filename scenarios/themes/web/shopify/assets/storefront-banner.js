// Stands in for Shopify's customer privacy banner (storefront-banner.js,
// served by Shopify, not part of any theme; the DOM it builds is read from a
// public copy, github.com/alejandro-shopify/alejandro-shopify.github.io
// storefront-banner.js at 0ee1c3d486c16ff45918550d75b84420e2bf15fe, and the
// consent call is Shopify's Customer Privacy API,
// window.Shopify.customerPrivacy.setTrackingConsent). Ours, minimal: when
// the visitor has not chosen yet, a section#shopify-pc__banner
// .shopify-pc__banner__dialog (role alertdialog) is inserted as the body's
// first child, fixed to the bottom of the viewport, with
// button#shopify-pc__banner__btn-accept and #shopify-pc__banner__btn-decline
// in .shopify-pc__banner__btns; either button records the choice in the
// _tracking_consent cookie and hides the banner. Like Shopify's it appears
// after the page has loaded (the API loads first).
(function () {
  if (document.cookie.split('; ').some((c) => c.startsWith('_tracking_consent='))) return;
  function choose(accepted) {
    const consent = JSON.stringify({ con: { CMP: { m: accepted ? '1' : '0', a: accepted ? '1' : '0', p: accepted ? '1' : '0', s: '' } }, v: '2.1' });
    document.cookie = '_tracking_consent=' + encodeURIComponent(consent) + '; path=/; max-age=31536000; SameSite=Lax';
    document.getElementById('shopify-pc__banner').style.display = 'none';
  }
  function render() {
    const style = document.createElement('style');
    style.id = 'shopify-pc__banner__styles';
    style.textContent = '.shopify-pc__banner__dialog{position:fixed;z-index:2000000;bottom:0;width:100%;box-sizing:border-box;padding:32px;background:#fff;box-shadow:0 4px 10px rgb(63 63 68 / 40%);text-align:left}' +
      '.shopify-pc__banner__wrapper{display:flex;align-items:center;justify-content:space-between;flex-direction:row}' +
      '.shopify-pc__banner__body{margin-right:5%}.shopify-pc__banner__btns{display:flex;min-width:365px;gap:20px}' +
      '.shopify-pc__banner__dialog button{margin:0 10px 0 0;padding:12px 24px;font:inherit;border:1px solid #333;background:#fff;cursor:pointer}';
    document.head.appendChild(style);
    const section = document.createElement('section');
    section.id = 'shopify-pc__banner';
    section.className = 'shopify-pc__banner__dialog';
    section.setAttribute('role', 'alertdialog');
    section.setAttribute('aria-modal', 'false');
    section.setAttribute('aria-labelledby', 'shopify-pc__banner__body-title');
    section.innerHTML =
      '<div class="shopify-pc__banner__wrapper">' +
        '<div class="shopify-pc__banner__body">' +
          '<h2 id="shopify-pc__banner__body-title">Cookie policy</h2>' +
          '<p>We use cookies and similar technologies to provide the best experience on our website. ' +
          '<a id="shopify-pc__banner__body-policy-link" href="/policies/privacy-policy" target="_blank" rel="noopener noreferrer">Privacy Policy</a></p>' +
        '</div>' +
        '<div class="shopify-pc__banner__btns">' +
          '<button id="shopify-pc__banner__btn-accept" class="shopify-pc__banner__btn-accept" type="button">Accept</button>' +
          '<button id="shopify-pc__banner__btn-decline" class="shopify-pc__banner__btn-decline" type="button">Decline</button>' +
        '</div>' +
      '</div>';
    document.body.insertBefore(section, document.body.firstChild);
    section.style.display = 'block';
    document.getElementById('shopify-pc__banner__btn-accept').addEventListener('click', () => choose(true));
    document.getElementById('shopify-pc__banner__btn-decline').addEventListener('click', () => choose(false));
  }
  // The banner waits for the Customer Privacy API, which loads after the page.
  window.addEventListener('load', () => setTimeout(render, 300));
})();
