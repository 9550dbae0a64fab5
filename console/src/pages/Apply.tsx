import { useEffect, useState, type FormEvent } from "react";
import { ApplicationCreateDocument, ApplicationUpdateDocument, MyApplicationsDocument, type DocumentType } from "../gql/graphql";
import { useAuth } from "../lib/auth";
import { byField, request } from "../lib/client";
import { formatBytes } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { DOCUMENT_TYPES, FileDrop } from "../components/FileDrop";
import { ErrorBanner, Loading, Notice, PageTitle, Status, TextArea, TextField, When } from "../components/ui";

const KINDS: DocumentType[] = ["BUSINESS_LICENSE", "TRADEMARK_CERTIFICATE", "BRAND_AUTHORIZATION"];
type Profile = { storeName: string; companyName: string; contactEmail: string; contactPhone: string; description: string; categories: string[] };

export function ApplyPage() {
  const { me, reload: reloadMe } = useAuth();
  const { t } = useI18n();
  const { data, error, loading, reload } = useQuery(MyApplicationsDocument, {});
  const applications = data?.vendorApplications?.edges.map((e) => e?.node).filter(Boolean) ?? [];
  const latest = applications[applications.length - 1] ?? null;
  const [profile, setProfile] = useState<Profile>({ storeName: "", companyName: "", contactEmail: me?.email ?? "", contactPhone: "", description: "", categories: [] });
  const [documents, setDocuments] = useState<Record<DocumentType, File[]>>({ BUSINESS_LICENSE: [], TRADEMARK_CERTIFICATE: [], BRAND_AUTHORIZATION: [] });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (latest && latest.status === "INFO_REQUESTED") {
      setProfile({ storeName: latest.storeName, companyName: latest.companyName, contactEmail: latest.contactEmail, contactPhone: latest.contactPhone, description: latest.description, categories: latest.categories.map((c) => c.id) });
    }
  }, [latest?.id, latest?.status]); // eslint-disable-line react-hooks/exhaustive-deps
  if (loading && !data) return <Loading />;

  const editing = !latest || latest.status === "REJECTED" || latest.status === "INFO_REQUESTED";
  const resubmitting = latest?.status === "INFO_REQUESTED";
  const files = KINDS.flatMap((documentType) => documents[documentType].map((file) => ({ documentType, file })));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!profile.storeName.trim()) found.storeName = t("Required.");
    if (!profile.companyName.trim()) found.companyName = t("Required.");
    if (!profile.contactEmail.trim()) found.contactEmail = t("Required.");
    if (profile.categories.length === 0) found.categories = t("Choose at least one category.");
    if (!resubmitting && documents.BUSINESS_LICENSE.length === 0) found.documents = t("A business licence is required.");
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    setFailure(null);
    try {
      const input = { ...profile, storeName: profile.storeName.trim(), companyName: profile.companyName.trim(), contactEmail: profile.contactEmail.trim() };
      const answer = resubmitting
        ? (await request(ApplicationUpdateDocument, { id: latest!.id, input: { ...input, documents: files.length ? files : undefined } })).vendorApplicationUpdate
        : (await request(ApplicationCreateDocument, { input: { ...input, documents: files } })).vendorApplicationCreate;
      setErrors(byField(answer?.errors));
      if (!answer?.errors.length) {
        setDone(resubmitting ? t("Application resubmitted.") : t("Application submitted. Staff review it; the answer appears here."));
        setDocuments({ BUSINESS_LICENSE: [], TRADEMARK_CERTIFICATE: [], BRAND_AUTHORIZATION: [] });
        await reload();
      }
    } catch (caught) {
      setFailure(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  const toggleCategory = (id: string) =>
    setProfile({ ...profile, categories: profile.categories.includes(id) ? profile.categories.filter((c) => c !== id) : [...profile.categories, id] });

  return (
    <>
      <PageTitle>{t("Apply to sell")}</PageTitle>
      {done && <Notice>{done}</Notice>}
      <ErrorBanner error={failure ?? error ?? errors[""]} />
      {latest && (
        <section className="card" aria-labelledby="application-title">
          <h2 id="application-title">{t("Your application")} <Status value={latest.status} /></h2>
          <p>{latest.storeName} · {t("submitted")} <When value={latest.submittedAt} /></p>
          {latest.status === "INFO_REQUESTED" && <div className="banner banner-warning" role="note"><strong>{t("Staff ask for more information")}:</strong> {latest.decisionReason}</div>}
          {latest.status === "REJECTED" && <div className="banner banner-error" role="note"><strong>{t("Rejected")}:</strong> {latest.decisionReason} {t("You may apply again.")}</div>}
          {latest.status === "APPROVED" && (
            <div className="banner banner-ok" role="note">
              {t("Approved: your store is open for onboarding. Pay the entry fee and deposit on its home page to start selling.")}{" "}
              {!me?.vendorMembership && <button type="button" className="primary" onClick={() => void reloadMe()}>{t("Open my store")}</button>}
            </div>
          )}
          <ul className="plain">
            {latest.documents.map((d) => <li key={d.id}><a href={d.url} target="_blank" rel="noreferrer">{t(`document.${d.documentType}`)}</a> · {d.contentType} · {formatBytes(d.size)}</li>)}
          </ul>
        </section>
      )}
      {editing && (
        <form className="card stack" onSubmit={submit} noValidate aria-labelledby="apply-title">
          <h2 id="apply-title">{resubmitting ? t("Answer and resubmit") : t("Application")}</h2>
          <TextField label={t("Store name")} value={profile.storeName} onChange={(e) => setProfile({ ...profile, storeName: e.target.value })} error={errors.storeName} required />
          <TextField label={t("Company name")} value={profile.companyName} onChange={(e) => setProfile({ ...profile, companyName: e.target.value })} error={errors.companyName} required />
          <TextField label={t("Contact email")} type="email" value={profile.contactEmail} onChange={(e) => setProfile({ ...profile, contactEmail: e.target.value })} error={errors.contactEmail} required />
          <TextField label={t("Contact phone")} value={profile.contactPhone} onChange={(e) => setProfile({ ...profile, contactPhone: e.target.value })} error={errors.contactPhone} />
          <TextArea label={t("What you sell")} value={profile.description} onChange={(e) => setProfile({ ...profile, description: e.target.value })} error={errors.description} />
          <fieldset className={errors.categories ? "field-invalid" : ""} aria-describedby={errors.categories ? "categories-error" : undefined}>
            <legend>{t("Categories")}</legend>
            <div className="checks">
              {data?.categories.filter((c) => !c.parent).map((c) => (
                <label key={c.id} className="check"><input type="checkbox" checked={profile.categories.includes(c.id)} onChange={() => toggleCategory(c.id)} /> {c.name}</label>
              ))}
            </div>
            {errors.categories && <p className="field-error" id="categories-error" role="alert">{errors.categories}</p>}
          </fieldset>
          {KINDS.map((kind) => (
            <FileDrop
              key={kind}
              label={t(`document.${kind}`) + (kind === "BUSINESS_LICENSE" ? (resubmitting ? "" : " *") : ` (${t("optional")})`)}
              files={documents[kind]}
              onChange={(picked) => setDocuments({ ...documents, [kind]: picked })}
              types={DOCUMENT_TYPES}
              error={kind === "BUSINESS_LICENSE" ? errors.documents : undefined}
            />
          ))}
          {resubmitting && <p className="hint">{t("New documents replace those of the same kind; without any, the ones sent stay.")}</p>}
          <button type="submit" className="primary" disabled={busy}>{resubmitting ? t("Resubmit") : t("Submit application")}</button>
        </form>
      )}
    </>
  );
}
