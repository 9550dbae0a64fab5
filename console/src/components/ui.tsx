import { useId, type ReactNode, type InputHTMLAttributes, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";
import { Link } from "react-router-dom";
import { useI18n } from "../lib/i18n";
import { formatDateTime, formatMoney, type MoneyValue } from "../lib/format";

export function Money({ value }: { value: MoneyValue | null | undefined }) {
  const { language } = useI18n();
  return <span className="money">{formatMoney(value, language)}</span>;
}

export function When({ value }: { value: string | null | undefined }) {
  const { language } = useI18n();
  return value ? <time dateTime={value}>{formatDateTime(value, language)}</time> : <span>—</span>;
}

/** An enum value shown in the user's language, e.g. status PAID -> "Paid" / "已付款". */
export function Status({ value }: { value: string | null | undefined }) {
  const { t } = useI18n();
  if (!value) return null;
  return <span className={`badge badge-${value.toLowerCase()}`}>{t(`status.${value}`)}</span>;
}

type FieldProps = { label: string; error?: string; hint?: string; children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode };

/** A labelled control with its hint and its error right under it (announced with the control). */
export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": describedBy })}
      {hint && <p className="hint" id={`${id}-hint`}>{hint}</p>}
      {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
    </div>
  );
}

export function TextField({ label, error, hint, ...input }: { label: string; error?: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return <Field label={label} error={error} hint={hint}>{(props) => <input {...input} {...props} />}</Field>;
}

export function TextArea({ label, error, hint, ...input }: { label: string; error?: string; hint?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return <Field label={label} error={error} hint={hint}>{(props) => <textarea rows={4} {...input} {...props} />}</Field>;
}

export function Select({ label, error, hint, children, ...input }: { label: string; error?: string; hint?: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  return <Field label={label} error={error} hint={hint}>{(props) => <select {...input} {...props}>{children}</select>}</Field>;
}

export function ErrorBanner({ error }: { error: Error | string | null | undefined }) {
  const { t } = useI18n();
  if (!error) return null;
  const message = typeof error === "string" ? error : error.message || t("Something went wrong. Try again.");
  return <div className="banner banner-error" role="alert">{message}</div>;
}

export function Notice({ children }: { children: ReactNode }) {
  return <div className="banner banner-ok" role="status">{children}</div>;
}

export function Loading() {
  const { t } = useI18n();
  return <p className="loading" role="status" aria-live="polite">{t("Loading…")}</p>;
}

/** What an empty list means and what to do about it. */
export function Empty({ title, action }: { title: string; action?: { to: string; label: string } }) {
  return (
    <div className="empty">
      <p>{title}</p>
      {action && <Link className="button" to={action.to}>{action.label}</Link>}
    </div>
  );
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-title">
      <h1 tabIndex={-1}>{children}</h1>
      {actions && <div className="actions">{actions}</div>}
    </div>
  );
}

export function Pager({ hasNext, onNext, onFirst, isFirst }: { hasNext: boolean; onNext: () => void; onFirst: () => void; isFirst: boolean }) {
  const { t } = useI18n();
  return (
    <nav className="pager" aria-label={t("Pages")}>
      <button type="button" onClick={onFirst} disabled={isFirst}>{t("First page")}</button>
      <button type="button" onClick={onNext} disabled={!hasNext}>{t("Next page")}</button>
    </nav>
  );
}
