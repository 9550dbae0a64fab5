import { useState, type FormEvent } from "react";
import { useAuth } from "../lib/auth";
import { byField } from "../lib/client";
import { useI18n } from "../lib/i18n";
import { ErrorBanner, TextField } from "../components/ui";
import { LanguageSwitch } from "../components/Layout";

export function SignInPage() {
  const { signIn } = useAuth();
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      setErrors(byField(await signIn(email.trim(), password)));
    } catch (error) {
      setFailure(error as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <div className="sign-in-card">
        <div className="sign-in-head">
          <h1>{t("Merchant console")}</h1>
          <LanguageSwitch />
        </div>
        <p>{t("Sign in with the account of your store, or the account you apply with.")}</p>
        <form onSubmit={submit} noValidate>
          <ErrorBanner error={failure ?? errors[""]} />
          <TextField label={t("Email")} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
          <TextField label={t("Password")} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} />
          <button type="submit" className="primary" disabled={busy}>{busy ? t("Signing in…") : t("Sign in")}</button>
        </form>
        <p className="hint">{t("No account yet? Register on the storefront or with accountRegister, confirm your email, then sign in here to apply.")}</p>
      </div>
    </main>
  );
}
