import { useEffect, useRef, type ReactNode } from "react";
import { NavLink, useLocation } from "react-router-dom";
import { useAuth } from "../lib/auth";
import { LANGUAGES, useI18n, type Language } from "../lib/i18n";

export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  return (
    <label className="language">
      <span className="visually-hidden">{t("Language")}</span>
      <select value={language} onChange={(event) => setLanguage(event.target.value as Language)} aria-label={t("Language")}>
        {LANGUAGES.map((item) => <option key={item.code} value={item.code} lang={item.code}>{item.label}</option>)}
      </select>
    </label>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { me, signOut } = useAuth();
  const { t } = useI18n();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  const store = me?.vendorMembership?.vendor;
  // Moving to another page puts the focus on its heading (a screen reader announces it); the first
  // page of a load leaves it at the top, where the skip link is the first stop.
  const firstPage = useRef(true);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [location.pathname]);
  const links = store
    ? [["/", t("Home")], ["/orders", t("Orders")], ["/products", t("Products")], ["/disputes", t("Disputes")], ["/money", t("Money")], ["/store", t("Store")]]
    : [["/apply", t("Apply to sell")]];
  return (
    <div className="shell">
      <a className="skip" href="#main">{t("Skip to content")}</a>
      <header className="topbar">
        <span className="brand">{store ? store.name : t("Merchant console")}</span>
        <nav aria-label={t("Main")}>
          <ul>
            {links.map(([to, label]) => (
              <li key={to}><NavLink to={to} end={to === "/"}>{label}</NavLink></li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <LanguageSwitch />
          <span className="email">{me?.email}</span>
          <button type="button" onClick={signOut}>{t("Sign out")}</button>
        </div>
      </header>
      <main id="main" ref={main}>{children}</main>
    </div>
  );
}
