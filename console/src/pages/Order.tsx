import { useEffect, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { OrderCancelDocument, OrderDetailDocument, OrderShipDocument } from "../gql/graphql";
import { byField, request } from "../lib/client";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { ErrorBanner, Loading, Money, Notice, PageTitle, Select, Status, TextArea, TextField, When } from "../components/ui";
import { NotFoundPage } from "./NotFound";

export function OrderPage() {
  const { id = "" } = useParams();
  const { t } = useI18n();
  const { data, error, loading, reload } = useQuery(OrderDetailDocument, { id });
  const [carrier, setCarrier] = useState("");
  const [service, setService] = useState("");
  const [tracking, setTracking] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const order = data?.order;
  useEffect(() => {
    if (order && !carrier) {
      setCarrier(order.shippingMethod.carrier);
      setService(order.shippingMethod.serviceCode);
    }
  }, [order, carrier]);
  if (loading && !data) return <Loading />;
  if (error && !data) return <ErrorBanner error={error} />;
  if (!order) return <NotFoundPage what={t("No such order in your store.")} />;

  const run = async (action: () => Promise<{ errors: { field: string | null; code: string; message: string }[] } | null | undefined>, success: string) => {
    setBusy(true);
    setFailure(null);
    setDone(null);
    try {
      const answer = await action();
      const found = byField(answer?.errors);
      setErrors(found);
      if (!answer?.errors.length) {
        setDone(success);
        await reload();
      }
    } catch (caught) {
      setFailure(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  const ship = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => (await request(OrderShipDocument, { id, input: { carrier, serviceCode: service || undefined, trackingNumber: tracking.trim() || undefined } })).orderShip, t("Shipped."));
  };
  const cancel = (event: FormEvent) => {
    event.preventDefault();
    if (!reason.trim()) {
      setErrors({ reason: t("Say why the order is cancelled; the shopper sees it.") });
      return;
    }
    void run(async () => (await request(OrderCancelDocument, { id, reason: reason.trim() })).orderCancel, t("Order cancelled; the shopper is refunded."));
  };
  const services = data?.carriers.find((c) => c.id === carrier)?.services ?? [];
  const address = order.shippingAddress;

  return (
    <>
      <PageTitle actions={<Link className="button" to={`/orders/${order.id}/packing-slip`}>{t("Packing slip")}</Link>}>
        {t("Order {number}", { number: order.number })} <Status value={order.status} />
      </PageTitle>
      {done && <Notice>{done}</Notice>}
      <ErrorBanner error={failure ?? errors[""]} />
      <section className="cards">
        <article className="card">
          <h2>{t("Payment")}</h2>
          <dl className="pairs">
            <dt>{t("Payment state")}</dt><dd><Status value={order.paymentStatus} /></dd>
            <dt>{t("Placed")}</dt><dd><When value={order.createdAt} /></dd>
            <dt>{t("Paid")}</dt><dd><When value={order.paidAt} /></dd>
            <dt>{t("Subtotal")}</dt><dd><Money value={order.subtotal} /></dd>
            <dt>{t("Shipping")}</dt><dd><Money value={order.shippingPrice} /></dd>
            <dt>{t("Total")}</dt><dd><Money value={order.total} /></dd>
            {Number(order.refunded.amount) > 0 && <><dt>{t("Refunded")}</dt><dd><Money value={order.refunded} /></dd></>}
            {order.commission && <><dt>{t("Commission")}</dt><dd><Money value={order.commission} /></dd></>}
            {order.autoConfirmAt && <><dt>{t("Released automatically")}</dt><dd><When value={order.autoConfirmAt} /></dd></>}
            {order.cancelReason && <><dt>{t("Cancel reason")}</dt><dd>{order.cancelReason}</dd></>}
          </dl>
          {order.releaseFrozen && <p className="warning">{t("Release is frozen while a dispute is open.")}</p>}
          {order.disputes.map((d) => <p key={d.id}><Link to={`/disputes/${d.id}`}>{t("Dispute")}</Link> <Status value={d.status} /></p>)}
        </article>
        <article className="card">
          <h2>{t("Ship to")}</h2>
          <address>
            {address.firstName} {address.lastName}<br />
            {address.streetAddress1}{address.streetAddress2 && <>, {address.streetAddress2}</>}<br />
            {address.city} {address.postalCode} ({address.region})<br />
            {address.phone}<br />{order.email}
          </address>
          <p>{t("Shopper chose")}: {order.shippingMethod.serviceName || order.shippingMethod.serviceCode} · <Money value={order.shippingMethod.price} /></p>
        </article>
      </section>
      <section className="card">
        <h2>{t("Lines")}</h2>
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">{t("Product")}</th><th scope="col">SKU</th><th scope="col">{t("Quantity")}</th><th scope="col">{t("Unit price")}</th><th scope="col">{t("Total")}</th></tr></thead>
            <tbody>
              {order.lines.map((line) => (
                <tr key={line.id}><td>{line.productName}</td><td>{line.variantSku}</td><td>{line.quantity}</td><td><Money value={line.unitPrice} /></td><td><Money value={line.total} /></td></tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {order.shipment && (
        <section className="card">
          <h2>{t("Shipment")}</h2>
          <p>{order.shipment.serviceName} · {t("Tracking number")}: <strong>{order.shipment.trackingNumber}</strong> · <Status value={order.shipment.status} /></p>
          <ol className="events">
            {order.shipment.events.map((event) => (
              <li key={event.eventId}><When value={event.occurredAt} /> · <Status value={event.status} /> {event.location} {event.description}</li>
            ))}
          </ol>
        </section>
      )}
      {order.status === "PAID" && (
        <section className="cards">
          <form className="card" onSubmit={ship} aria-labelledby="ship-form-title">
            <h2 id="ship-form-title">{t("Ship")}</h2>
            <Select label={t("Carrier")} value={carrier} onChange={(e) => { setCarrier(e.target.value); setService(""); }} error={errors.carrier}>
              {data?.carriers.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </Select>
            <Select label={t("Service")} value={service} onChange={(e) => setService(e.target.value)} error={errors.serviceCode}>
              <option value="">{t("The one the shopper paid for")}</option>
              {services.map((s) => <option key={s.code} value={s.code}>{s.name}</option>)}
            </Select>
            <TextField label={t("Tracking number")} hint={t("Only for a parcel you booked with the carrier yourself; leave empty to book it now.")} value={tracking} onChange={(e) => setTracking(e.target.value)} error={errors.trackingNumber} />
            <button type="submit" className="primary" disabled={busy}>{t("Ship order")}</button>
          </form>
          <form className="card" onSubmit={cancel} aria-labelledby="cancel-form-title">
            <h2 id="cancel-form-title">{t("Cancel order")}</h2>
            <p>{t("Before shipment only: the stock comes back and the shopper is refunded.")}</p>
            <TextArea label={t("Reason")} value={reason} onChange={(e) => setReason(e.target.value)} error={errors.reason} />
            <button type="submit" className="danger" disabled={busy}>{t("Cancel order")}</button>
          </form>
        </section>
      )}
    </>
  );
}
