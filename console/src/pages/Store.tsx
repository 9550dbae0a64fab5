import { useEffect, useState, type FormEvent } from "react";
import { StaffInvitationRevokeDocument, StaffInviteDocument, StaffRemoveDocument, StoreDocument, StoreInvitationsDocument, VendorUpdateDocument, type VendorRole } from "../gql/graphql";
import { useAuth, useVendorId } from "../lib/auth";
import { byField, request } from "../lib/client";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { FileDrop, IMAGE_TYPES } from "../components/FileDrop";
import { Empty, ErrorBanner, Loading, Notice, PageTitle, Select, Status, TextArea, TextField, When } from "../components/ui";

const ROLES: VendorRole[] = ["OWNER", "OPERATOR", "CUSTOMER_SERVICE"];

export function StorePage() {
  const vendor = useVendorId()!;
  const { me } = useAuth();
  const { t, language } = useI18n();
  const role = me?.vendorMembership?.role;
  const isOwner = role === "OWNER";
  const mayEdit = role === "OWNER" || role === "OPERATOR";
  const { data, error, loading, reload } = useQuery(StoreDocument, { vendor });
  const invitations = useQuery(StoreInvitationsDocument, { vendor }, !isOwner);
  const [profile, setProfile] = useState({ name: "", description: "", contactEmail: "", contactPhone: "", shippingOrigin: "" });
  const [logo, setLogo] = useState<File[]>([]);
  const [banner, setBanner] = useState<File[]>([]);
  const [invite, setInvite] = useState<{ email: string; role: VendorRole }>({ email: "", role: "OPERATOR" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [inviteErrors, setInviteErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const store = data?.vendor;
  useEffect(() => {
    if (store) setProfile({ name: store.name, description: store.description, contactEmail: store.contactEmail, contactPhone: store.contactPhone, shippingOrigin: store.shippingOrigin?.code ?? "" });
  }, [store]);
  if (loading && !data) return <Loading />;
  if (!store) return <ErrorBanner error={error} />;

  const guarded = async (work: () => Promise<void>) => {
    setBusy(true);
    setDone(null);
    try {
      await work();
    } catch (caught) {
      setErrors({ "": (caught as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const save = (event: FormEvent) => {
    event.preventDefault();
    void guarded(async () => {
      const answer = (await request(VendorUpdateDocument, { id: vendor, input: { ...profile, shippingOrigin: profile.shippingOrigin || undefined, logo: logo[0], banner: banner[0] } })).vendorUpdate;
      setErrors(byField(answer?.errors));
      if (!answer?.errors.length) {
        setDone(t("Store saved."));
        setLogo([]);
        setBanner([]);
        await reload();
      }
    });
  };
  const sendInvite = (event: FormEvent) => {
    event.preventDefault();
    void guarded(async () => {
      const answer = (await request(StaffInviteDocument, { vendor, email: invite.email.trim(), role: invite.role })).vendorStaffInvite;
      setInviteErrors(byField(answer?.errors));
      if (!answer?.errors.length) {
        setDone(t("Invitation sent to {email}.", { email: invite.email.trim() }));
        setInvite({ email: "", role: "OPERATOR" });
        await invitations.reload();
      }
    });
  };
  const logoUrl = store.logo.find((r) => r.format === "webp")?.url ?? store.logo[0]?.url;
  const bannerUrl = store.banner.find((r) => r.format === "webp")?.url ?? store.banner[0]?.url;
  const regionName = (r: { name: string; localName: string }) => (language === "zh-Hans" ? r.localName || r.name : r.name);

  return (
    <>
      <PageTitle>{t("Store")} <Status value={store.status} /></PageTitle>
      {done && <Notice>{done}</Notice>}
      <ErrorBanner error={errors[""]} />
      <form className="card" onSubmit={save} noValidate>
        <h2>{t("Profile")}</h2>
        {bannerUrl && <img className="banner-image" src={bannerUrl} alt={t("Current banner")} />}
        {logoUrl && <img className="logo-image" src={logoUrl} alt={t("Current logo")} width={64} height={64} />}
        <TextField label={t("Store name")} value={profile.name} disabled={!mayEdit} onChange={(e) => setProfile({ ...profile, name: e.target.value })} error={errors.name} />
        <TextArea label={t("Description")} value={profile.description} disabled={!mayEdit} onChange={(e) => setProfile({ ...profile, description: e.target.value })} error={errors.description} />
        <TextField label={t("Contact email")} type="email" value={profile.contactEmail} disabled={!mayEdit} onChange={(e) => setProfile({ ...profile, contactEmail: e.target.value })} error={errors.contactEmail} />
        <TextField label={t("Contact phone")} value={profile.contactPhone} disabled={!mayEdit} onChange={(e) => setProfile({ ...profile, contactPhone: e.target.value })} error={errors.contactPhone} />
        <Select label={t("Ships from")} hint={t("Shipping is quoted from here at checkout.")} value={profile.shippingOrigin} disabled={!mayEdit} onChange={(e) => setProfile({ ...profile, shippingOrigin: e.target.value })} error={errors.shippingOrigin}>
          {data?.shippingRegions.map((r) => <option key={r.code} value={r.code}>{r.kind === "CITY" ? "— " : ""}{regionName(r)} ({r.code})</option>)}
        </Select>
        {mayEdit && (
          <>
            <FileDrop label={t("New logo (square)")} files={logo} onChange={(f) => setLogo(f.slice(-1))} types={IMAGE_TYPES} maxCount={1} error={errors.logo} />
            <FileDrop label={t("New banner (4:1)")} files={banner} onChange={(f) => setBanner(f.slice(-1))} types={IMAGE_TYPES} maxCount={1} error={errors.banner} />
            <button type="submit" className="primary" disabled={busy}>{t("Save store")}</button>
          </>
        )}
      </form>
      <section className="card" aria-labelledby="staff-title">
        <h2 id="staff-title">{t("Staff")}</h2>
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">{t("Email")}</th><th scope="col">{t("Role")}</th><th scope="col">{t("Since")}</th>{isOwner && <th scope="col"><span className="visually-hidden">{t("Actions")}</span></th>}</tr></thead>
            <tbody>
              {store.staff.map((member) => (
                <tr key={member.id}>
                  <td>{member.user.email}</td>
                  <td>{t(`role.${member.role}`)}</td>
                  <td><When value={member.addedAt} /></td>
                  {isOwner && <td>{member.user.id !== me?.id && <button type="button" className="link" disabled={busy} onClick={() => void guarded(async () => { const a = (await request(StaffRemoveDocument, { id: member.id })).vendorStaffRemove; setErrors(byField(a?.errors)); await reload(); })}>{t("Remove")}</button>}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {isOwner && (
          <>
            <h3>{t("Pending invitations")}</h3>
            {invitations.data?.vendor?.staffInvitations.length ? (
              <ul className="plain">
                {invitations.data.vendor.staffInvitations.map((inv) => (
                  <li key={inv.id}>{inv.email} · {t(`role.${inv.role}`)} · {t("expires")} <When value={inv.expiresAt} /> <button type="button" className="link" onClick={() => void guarded(async () => { await request(StaffInvitationRevokeDocument, { id: inv.id }); await invitations.reload(); })}>{t("Revoke")}</button></li>
                ))}
              </ul>
            ) : <Empty title={t("No pending invitations. Invite an operator or customer service below.")} />}
            <form className="filters" onSubmit={sendInvite} noValidate>
              <TextField label={t("Email")} type="email" value={invite.email} onChange={(e) => setInvite({ ...invite, email: e.target.value })} error={inviteErrors.email} />
              <Select label={t("Role")} value={invite.role} onChange={(e) => setInvite({ ...invite, role: e.target.value as VendorRole })} error={inviteErrors.role}>
                {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
              </Select>
              <button type="submit" disabled={busy}>{t("Invite")}</button>
            </form>
            {inviteErrors[""] && <p className="field-error" role="alert">{inviteErrors[""]}</p>}
          </>
        )}
      </section>
    </>
  );
}
