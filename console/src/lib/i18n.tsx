// Two languages: English (the message ids themselves) and Simplified Chinese (src/lib/zh.ts).
// The choice is the user's (kept in localStorage), else the browser's first language.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { EN, ZH } from "./zh";

export type Language = "en" | "zh-Hans";
export const LANGUAGES: { code: Language; label: string }[] = [
  { code: "en", label: "English" },
  { code: "zh-Hans", label: "简体中文" },
];
const KEY = "marketplace.console.language";

export function browserLanguage(languages: readonly string[] = navigator.languages ?? [navigator.language]): Language {
  for (const tag of languages) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh-Hans";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function initialLanguage(): Language {
  try {
    const saved = window.localStorage.getItem(KEY);
    if (saved === "en" || saved === "zh-Hans") return saved;
  } catch {
    /* no storage */
  }
  return browserLanguage();
}

export type Translate = (id: string, values?: Record<string, string | number>) => string;

export function translate(language: Language, id: string, values?: Record<string, string | number>): string {
  const text = (language === "zh-Hans" ? ZH[id] : undefined) ?? EN[id] ?? id;
  return values ? text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match)) : text;
}

type I18n = { language: Language; setLanguage: (language: Language) => void; t: Translate };
const Context = createContext<I18n>({ language: "en", setLanguage: () => undefined, t: (id, values) => translate("en", id, values) });

export function I18nProvider({ children, language: fixed }: { children: ReactNode; language?: Language }) {
  const [language, setLanguageState] = useState<Language>(fixed ?? initialLanguage());
  const setLanguage = useCallback((next: Language) => {
    setLanguageState(next);
    try {
      window.localStorage.setItem(KEY, next);
    } catch {
      /* no storage */
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const value = useMemo(() => ({ language, setLanguage, t: ((id, values) => translate(language, id, values)) as Translate }), [language, setLanguage]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useI18n() {
  return useContext(Context);
}
