import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { DisputeDetailDocument, DisputeMessageAddDocument, DisputeRespondDocument, DisputeReturnReceivedDocument } from "../gql/graphql";
import { byField, request } from "../lib/client";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { FileDrop, IMAGE_TYPES } from "../components/FileDrop";
import { ErrorBanner, Loading, Money, Notice, PageTitle, Status, TextArea, When } from "../components/ui";
import { Deadline } from "./Disputes";
import { NotFoundPage } from "./NotFound";

export function DisputePage() {
  const { id = "" } = useParams();
  const { t } = useI18n();
  const { data, error, loading, reload } = useQuery(DisputeDetailDocument, { id });
  const [message, setMessage] = useState("");
  const [evidence, setEvidence] = useState<File[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (loading && !data) return <Loading />;
  const dispute = data?.dispute;
  if (!dispute) return error ? <ErrorBanner error={error} /> : <NotFoundPage what={t("No such dispute in your store.")} />;

  const act = async (work: () => Promise<{ errors: { field: string | null; code: string; message: string }[] } | null | undefined>, success: string) => {
    setBusy(true);
    setFailure(null);
    setDone(null);
    try {
      const answer = await work();
      setErrors(byField(answer?.errors));
      if (!answer?.errors.length) {
        setDone(success);
        setMessage("");
        setEvidence([]);
        await reload();
      }
    } catch (caught) {
      setFailure(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  const respond = (accept: boolean) => {
    if (!accept && !message.trim()) {
      setErrors({ message: t("Tell the shopper why you reject the claim.") });
      return;
    }
    void act(async () => (await request(DisputeRespondDocument, { id, input: { accept, message: message.trim() || undefined, evidence } })).disputeRespond, accept ? t("Accepted.") : t("Rejected; the shopper may escalate to the platform."));
  };
  const post = (event: FormEvent) => {
    event.preventDefault();
    if (!message.trim() && evidence.length === 0) {
      setErrors({ message: t("Write a message or add a picture.") });
      return;
    }
    void act(async () => (await request(DisputeMessageAddDocument, { id, input: { body: message.trim() || undefined, evidence } })).disputeMessageAdd, t("Message posted."));
  };
  const waiting = dispute.status === "AWAITING_VENDOR";

  return (
    <>
      <PageTitle>{t("Dispute on order {number}", { number: dispute.order.number })} <Status value={dispute.status} /></PageTitle>
      {done && <Notice>{done}</Notice>}
      <ErrorBanner error={failure ?? errors[""]} />
      <section className="cards">
        <article className="card">
          <h2>{t("Claim")}</h2>
          <dl className="pairs">
            <dt>{t("Reason")}</dt><dd>{t(`reason.${dispute.reason}`)} · {t(`kind.${dispute.kind}`)}</dd>
            <dt>{t("Requested")}</dt><dd><Money value={dispute.requested} /> / <Money value={dispute.order.total} /></dd>
            {Number(dispute.refunded.amount) > 0 && <><dt>{t("Refunded")}</dt><dd><Money value={dispute.refunded} /></dd></>}
            <dt>{t("Deadline")}</dt><dd><Deadline value={dispute.deadlineAt} /></dd>
            <dt>{t("Order")}</dt><dd><Link to={`/orders/${dispute.order.id}`}>{dispute.order.number}</Link></dd>
          </dl>
          <p className="pre">{dispute.description}</p>
          <ul className="plain">{dispute.lines.map((line) => <li key={line.orderLine.id}>{line.orderLine.productName} ({line.orderLine.variantSku}) × {line.quantity}</li>)}</ul>
          {dispute.ruling && <p><strong>{t("Ruling")}:</strong> {dispute.ruling.outcome && t(`outcome.${dispute.ruling.outcome}`)} <Money value={dispute.ruling.amount} /> {dispute.ruling.note}</p>}
        </article>
        <article className="card">
          <h2>{t("Thread")}</h2>
          <ol className="thread">
            {dispute.messages.map((m) => (
              <li key={m.id} className={`message message-${m.role.toLowerCase()}`}>
                <p className="meta">{t(`role.${m.role}`)} · <When value={m.createdAt} /></p>
                {m.body && <p className="pre">{m.body}</p>}
                {m.evidence.length > 0 && <p>{m.evidence.map((e, i) => e.url && e.thumbnailUrl
                  ? <a key={i} href={e.url} target="_blank" rel="noreferrer"><img className="thumb" src={e.thumbnailUrl} alt={t("Evidence {number}", { number: i + 1 })} /></a>
                  : <span key={i} className="thumb processing">{t("Evidence {number} is being processed", { number: i + 1 })}</span>)}</p>}
              </li>
            ))}
          </ol>
        </article>
      </section>
      {!["RESOLVED", "CLOSED"].includes(dispute.status) && (
        <form className="card" onSubmit={post} aria-labelledby="answer-title">
          <h2 id="answer-title">{waiting ? t("Answer the shopper") : t("Post on the thread")}</h2>
          <TextArea label={t("Message")} value={message} onChange={(e) => setMessage(e.target.value)} error={errors.message ?? errors.body} />
          <FileDrop label={t("Evidence pictures")} files={evidence} onChange={setEvidence} types={IMAGE_TYPES} maxCount={9} error={errors.evidence} />
          <div className="actions">
            {waiting && <button type="button" className="primary" disabled={busy} onClick={() => respond(true)}>{t("Accept the claim")}</button>}
            {waiting && <button type="button" className="danger" disabled={busy} onClick={() => respond(false)}>{t("Reject with this message")}</button>}
            {!waiting && <button type="submit" disabled={busy}>{t("Post")}</button>}
            {dispute.status === "RETURN_SHIPPED" && <button type="button" disabled={busy} onClick={() => void act(async () => (await request(DisputeReturnReceivedDocument, { id })).disputeReturnReceived, t("Return confirmed."))}>{t("Confirm the return arrived")}</button>}
          </div>
        </form>
      )}
    </>
  );
}
