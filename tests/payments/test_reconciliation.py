"""Daily reconciliation: gateway records against our payments, refunds and transfers; mismatches for staff."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.core import periodic
from backend.core.permissions import PlatformPermission
from backend.payments import services
from backend.payments.models import MismatchProblem, Payment, PaymentStatus, ReconciliationMismatch
from backend.payments.reconciliation import day_bounds, mismatch_review, reconcile_gateway, reconcile_gateways
from plugins.payments import dummy
from plugins.payments.interface import GatewayRecord

from ..finance.helpers import cny
from ..graphql_client import CORE_URL, GraphQLClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_disagreements():
    dummy.DISAGREEMENTS.clear()
    yield
    dummy.DISAGREEMENTS.clear()


def pay(amount, key) -> Payment:
    return services.payment_process(
        gateway="dummy", amount=cny(amount), token="success", idempotency_key=key, capture=True
    )


def problems(day=None, gateway="dummy") -> set[tuple[str, str, str]]:
    rows = ReconciliationMismatch.objects.filter(gateway=gateway)
    if day:
        rows = rows.filter(day=day)
    return {(m.kind, m.psp_reference, m.problem) for m in rows}


@pytest.fixture
def movements(db):
    first = pay("100.00", "pay-1")
    second = pay("50.00", "pay-2")
    refund = services.payment_refund(payment=first, amount=cny(30), idempotency_key="refund-1")
    return first, second, refund


def test_books_that_agree_give_no_mismatch(movements):
    result = reconcile_gateway("dummy", timezone.localdate())
    assert result.records == 3 and result.matched == 3 and result.mismatches == []
    assert not ReconciliationMismatch.objects.exists()


def test_each_kind_of_difference_is_one_mismatch_and_nothing_is_corrected(movements):
    first, second, refund = movements
    now = timezone.now()
    dummy.DISAGREEMENTS.update(
        {
            ("charge", first.psp_reference): None,  # the gateway has no such charge
            ("refund", refund.psp_reference): GatewayRecord("refund", refund.psp_reference, Decimal("31.00"), "CNY", now, "succeeded"),
            ("charge", second.psp_reference): GatewayRecord("charge", second.psp_reference, Decimal("50.00"), "USD", now, "failed"),
            ("charge", "dummy_pay_unknown"): GatewayRecord("charge", "dummy_pay_unknown", Decimal("9.99"), "CNY", now, "succeeded"),
        }
    )
    before = list(Payment.objects.order_by("pk").values_list("status", "captured_amount", "refunded_amount"))
    result = reconcile_gateway("dummy", timezone.localdate())
    assert problems() == {
        ("charge", first.psp_reference, MismatchProblem.MISSING_AT_GATEWAY),
        ("refund", refund.psp_reference, MismatchProblem.AMOUNT_DIFFERS),
        ("charge", second.psp_reference, MismatchProblem.CURRENCY_DIFFERS),
        ("charge", second.psp_reference, MismatchProblem.STATUS_DIFFERS),
        ("charge", "dummy_pay_unknown", MismatchProblem.MISSING_HERE),
    }
    assert result.new == 5
    amounts = ReconciliationMismatch.objects.get(problem=MismatchProblem.AMOUNT_DIFFERS)
    assert (amounts.our_amount, amounts.gateway_amount) == (Decimal("30.00"), Decimal("31.00"))
    assert amounts.refund_id == refund.pk
    missing = ReconciliationMismatch.objects.get(problem=MismatchProblem.MISSING_AT_GATEWAY)
    assert missing.payment_id == first.pk and missing.gateway_amount is None
    # Never corrected: our records are as they were.
    assert list(Payment.objects.order_by("pk").values_list("status", "captured_amount", "refunded_amount")) == before


def test_running_the_same_day_again_adds_no_row_and_keeps_the_review(movements, staff_factory):
    first, _second, _refund = movements
    dummy.DISAGREEMENTS[("charge", first.psp_reference)] = None
    reconcile_gateway("dummy", timezone.localdate())
    mismatch = ReconciliationMismatch.objects.get()
    mismatch_review(mismatch=mismatch, user=staff_factory(PlatformPermission.MANAGE_FINANCE), note="Asked the gateway.")
    again = reconcile_gateway("dummy", timezone.localdate())
    assert again.new == 0 and len(again.mismatches) == 1
    assert ReconciliationMismatch.objects.count() == 1
    mismatch.refresh_from_db()
    assert mismatch.reviewed_at is not None and mismatch.review_note == "Asked the gateway."
    assert mismatch.last_seen_at > mismatch.detected_at


def test_a_review_needs_a_note(movements, staff_factory):
    dummy.DISAGREEMENTS[("charge", movements[0].psp_reference)] = None
    reconcile_gateway("dummy", timezone.localdate())
    from django.utils import translation

    with pytest.raises(Exception) as error:
        mismatch_review(mismatch=ReconciliationMismatch.objects.get(), user=staff_factory(), note="  ")
    assert error.value.code.value == "required" and error.value.message == "Say what was found or done."
    with translation.override("zh-hans"), pytest.raises(Exception) as error:
        mismatch_review(mismatch=ReconciliationMismatch.objects.get(), user=staff_factory(), note="")
    assert error.value.message == "请说明发现了什么或做了什么。"


def test_a_payment_of_another_day_is_not_missing_today(movements):
    first, *_ = movements
    Payment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=3))
    dummy.DISAGREEMENTS[("charge", first.psp_reference)] = None
    assert reconcile_gateway("dummy", timezone.localdate()).mismatches == []


def test_the_periodic_task_reconciles_yesterday_for_every_active_gateway(movements):
    first, *_ = movements
    yesterday = timezone.now() - timedelta(days=1)
    Payment.objects.filter(pk=first.pk).update(created_at=yesterday)
    dummy.DISAGREEMENTS[("charge", first.psp_reference)] = None
    periodic.load_tasks()
    run = periodic.REGISTRY["payments.reconcile_gateways"]()
    assert run.result == {"dummy": 1}
    assert problems(day=timezone.localdate() - timedelta(days=1)) == {
        ("charge", first.psp_reference, MismatchProblem.MISSING_AT_GATEWAY)
    }
    assert "payments.reconcile_gateways" in periodic.task_names()
    # Through Celery (eager here), with the day named: the same row, not a second.
    from backend.payments.tasks import reconcile_gateways_task

    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert reconcile_gateways_task.delay(day).get() == {"dummy": 1}
    assert ReconciliationMismatch.objects.count() == 1


# --- Alipay and WeChat Pay: the day's bill, or their queries while it is not made ---


def alipay_day(alipay, alipay_fake) -> list[Payment]:
    """A1 agrees, A2 Alipay took another amount for, A3 Alipay never saw; A1 partly refunded."""
    from .test_alipay import session

    alipay.create_payment_session(session(reference="A1", amount="100.00"), previous_value=None)
    alipay.create_payment_session(session(reference="A2", amount="20.00"), previous_value=None)
    alipay_fake.pay("A1")
    alipay_fake.pay("A2", amount="19.00")  # the fake's books say another amount
    paid = []
    for no, amount in (("A1", "100.00"), ("A2", "20.00"), ("A3", "5.00")):
        paid.append(
            Payment.objects.create(
                gateway="alipay", psp_reference=no, idempotency_key=f"k-{no}", request_fingerprint="x",
                amount=Decimal(amount), captured_amount=Decimal(amount), currency="CNY", status=PaymentStatus.CAPTURED,
            )
        )
    services.payment_refund(payment=paid[0], amount=cny(10), idempotency_key="refund-a1")
    return paid


def test_alipay_reconciles_from_the_days_bill_and_finds_a_trade_we_never_recorded(alipay, alipay_fake):
    alipay_day(alipay, alipay_fake)
    alipay_fake.paid_elsewhere("OFFLINE1", "8.80")
    before = list(Payment.objects.order_by("pk").values_list("status", "captured_amount", "refunded_amount"))
    counts = reconcile_gateways(timezone.localdate())
    assert counts == {"dummy": 0, "alipay": 3}
    assert problems(gateway="alipay") == {
        ("charge", "A2", MismatchProblem.AMOUNT_DIFFERS),
        ("charge", "A3", MismatchProblem.MISSING_AT_GATEWAY),  # not in Alipay's bill
        ("charge", "OFFLINE1", MismatchProblem.MISSING_HERE),  # in the bill, not in our books
    }
    ghost = ReconciliationMismatch.objects.get(psp_reference="OFFLINE1")
    assert (ghost.gateway_amount, ghost.gateway_status, ghost.gateway_record["kind"]) == (Decimal("8.80"), "succeeded", "charge")
    # One bill asked for, one file downloaded; no trade asked about one by one.
    assert alipay_fake.count("alipay.data.dataservice.bill.downloadurl.query") == 1
    assert alipay_fake.count("alipay.trade.query") == 0 and alipay_fake.count("alipay.trade.fastpay.refund.query") == 0
    (bill,) = alipay_fake.calls[-1:]
    assert bill[1] == {"bill_type": "trade", "bill_date": timezone.localdate().isoformat()}
    assert list(Payment.objects.order_by("pk").values_list("status", "captured_amount", "refunded_amount")) == before
    # Again: nothing new.
    assert reconcile_gateways(timezone.localdate())["alipay"] == 3
    assert ReconciliationMismatch.objects.filter(gateway="alipay").count() == 3


def test_alipays_bill_is_a_zip_of_gbk_csv_files_whose_detail_rows_become_records(alipay, alipay_fake):
    import io
    import zipfile

    from plugins.payments.alipay import bill_rows, out_no

    alipay_day(alipay, alipay_fake)
    archive = alipay_fake.bill_zip(timezone.localdate())
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        detail = next(files.read(n) for n in files.namelist() if n.endswith("业务明细.csv"))
    assert "支付宝交易号,商户订单号,业务类型".encode("gbk") in detail
    with pytest.raises(UnicodeDecodeError):
        detail.decode("utf-8")
    rows = bill_rows(archive)
    assert [(r["商户订单号"], r["业务类型"], r["订单金额（元）"], r["退款批次号/请求号"]) for r in rows] == [
        ("A1", "交易", "100.00", ""), ("A1", "退款", "-10.00", out_no("refund-a1")), ("A2", "交易", "19.00", ""),
    ]
    records = alipay.gateway_records(*day_bounds(timezone.localdate()), previous_value=None)
    assert {(r.kind, r.psp_reference, r.amount, r.status) for r in records} == {
        ("charge", "A1", Decimal("100.00"), "succeeded"),
        ("refund", out_no("refund-a1"), Decimal("10.00"), "succeeded"),
        ("charge", "A2", Decimal("19.00"), "succeeded"),
    }


def test_alipay_asks_about_each_trade_while_the_bill_is_not_made_then_reads_it(alipay, alipay_fake):
    alipay_day(alipay, alipay_fake)
    alipay_fake.paid_elsewhere("OFFLINE1", "8.80")
    alipay_fake.bills_ready = False  # before about 09:00 the next day
    assert reconcile_gateways(timezone.localdate())["alipay"] == 2
    assert problems(gateway="alipay") == {
        ("charge", "A2", MismatchProblem.AMOUNT_DIFFERS),
        ("charge", "A3", MismatchProblem.MISSING_AT_GATEWAY),  # Alipay has no trade A3
    }
    assert alipay_fake.count("alipay.trade.query") == 3 and alipay_fake.count("alipay.trade.fastpay.refund.query") == 1
    # The task runs again once the bill is made: the trade we never recorded is found, the rest stays as found.
    alipay_fake.bills_ready = True
    result = reconcile_gateway("alipay", timezone.localdate())
    assert result.new == 1 and ("charge", "OFFLINE1", MismatchProblem.MISSING_HERE) in problems(gateway="alipay")


def test_a_gateway_that_does_not_answer_fails_the_run_after_the_others(alipay, alipay_fake, movements):
    Payment.objects.create(
        gateway="alipay", psp_reference="A9", idempotency_key="k-A9", request_fingerprint="x",
        amount=Decimal(1), captured_amount=Decimal(1), currency="CNY", status=PaymentStatus.CAPTURED,
    )
    dummy.DISAGREEMENTS[("charge", movements[0].psp_reference)] = None
    alipay_fake.fail("alipay.data.dataservice.bill.downloadurl.query", "http500")
    with pytest.raises(RuntimeError, match="failed for alipay"):
        reconcile_gateways(timezone.localdate())
    assert problems() == {("charge", movements[0].psp_reference, MismatchProblem.MISSING_AT_GATEWAY)}
    assert not ReconciliationMismatch.objects.filter(gateway="alipay").exists()
    # The retry (the periodic task's) finds Alipay answering again.
    assert reconcile_gateways(timezone.localdate())["alipay"] == 1


def wechat_day(wechatpay, wechat_fake) -> Payment:
    from .test_wechatpay import session

    wechatpay.create_payment_session(session(reference="W-0001", amount="30.00"), previous_value=None)
    wechat_fake.pay("W-0001")
    payment = Payment.objects.create(
        gateway="wechatpay", psp_reference="W-0001", idempotency_key="k-w1", request_fingerprint="x",
        amount=Decimal("30.00"), captured_amount=Decimal("30.00"), currency="CNY", status=PaymentStatus.CAPTURED,
    )
    services.payment_refund(payment=payment, amount=cny(5), idempotency_key="refund-w1")
    wechat_fake.refunds[next(iter(wechat_fake.refunds))]["amount"]["refund"] = 400  # its books: 4.00
    return payment


def test_wechatpay_reconciles_from_the_days_trade_bill_checked_against_its_hash(wechatpay, wechat_fake):
    wechat_day(wechatpay, wechat_fake)
    wechat_fake.paid_elsewhere("W-ELSEWHERE", 1234)
    queries = wechat_fake.count("query")  # the refund asked for the order's total
    counts = reconcile_gateways(timezone.localdate())
    assert counts["wechatpay"] == 2
    assert problems(gateway="wechatpay") == {
        ("refund", "refund-w1", MismatchProblem.AMOUNT_DIFFERS),
        ("charge", "W-ELSEWHERE", MismatchProblem.MISSING_HERE),
    }
    refund = ReconciliationMismatch.objects.get(gateway="wechatpay", kind="refund")
    assert (refund.our_amount, refund.gateway_amount) == (Decimal("5.00"), Decimal("4.00"))
    assert ReconciliationMismatch.objects.get(psp_reference="W-ELSEWHERE").gateway_amount == Decimal("12.34")
    assert (wechat_fake.count("tradebill"), wechat_fake.count("billdownload")) == (1, 1)
    assert wechat_fake.count("query") == queries and wechat_fake.count("query_refund") == 0
    tradebill = next(call for call in wechat_fake.calls if call[0] == "tradebill")
    assert tradebill[2] == {"bill_date": timezone.localdate().isoformat(), "bill_type": "ALL", "tar_type": "GZIP"}
    assert reconcile_gateway("wechatpay", timezone.localdate()).new == 0


def test_wechatpays_bill_rows_are_backquoted_and_a_bill_that_does_not_match_its_hash_is_refused(wechatpay, wechat_fake):
    from plugins.payments.wechatpay import bill_rows

    wechat_day(wechatpay, wechat_fake)
    text = wechat_fake.bill_csv(timezone.localdate())
    assert text.splitlines()[1].startswith("`") and "总交易单数" in text
    rows = bill_rows(text)
    assert [(r["商户订单号"], r["交易状态"], r["订单金额"], r["商户退款单号"], r["退款金额"]) for r in rows] == [
        ("W-0001", "SUCCESS", "30.00", "0", "0.00"), ("W-0001", "REFUND", "0.00", "refund-w1", "4.00"),
    ]
    wechat_fake.bill_tampered = True
    with pytest.raises(RuntimeError, match="failed for wechatpay"):
        reconcile_gateways(timezone.localdate())
    assert not ReconciliationMismatch.objects.filter(gateway="wechatpay").exists()


def test_wechatpay_asks_about_each_order_while_the_bill_is_not_made(wechatpay, wechat_fake):
    wechat_day(wechatpay, wechat_fake)
    wechat_fake.paid_elsewhere("W-ELSEWHERE", 1234)
    wechat_fake.bills_ready = False
    queries = wechat_fake.count("query")
    assert reconcile_gateways(timezone.localdate())["wechatpay"] == 1
    (mismatch,) = ReconciliationMismatch.objects.filter(gateway="wechatpay")
    assert (mismatch.kind, mismatch.problem) == ("refund", MismatchProblem.AMOUNT_DIFFERS)
    assert (mismatch.our_amount, mismatch.gateway_amount) == (Decimal("5.00"), Decimal("4.00"))
    assert wechat_fake.count("query") == queries + 1 and wechat_fake.count("query_refund") == 1
    assert wechat_fake.count("billdownload") == 0


# --- staff: the API and the admin ---

QUERY = """
query($date: Date, $gateway: String, $first: Int, $after: String) {
  reconciliationMismatches(date: $date, gateway: $gateway, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id gateway kind problem pspReference day ourStatus gatewayStatus reviewed paymentId
                   ourAmount { amount currency } gatewayAmount { amount currency } } }
  }
}
"""


@pytest.fixture
def many_mismatches(db):
    now = timezone.now()
    for n in range(12):
        dummy.DISAGREEMENTS[("charge", f"ghost-{n}")] = GatewayRecord("charge", f"ghost-{n}", Decimal(n + 1), "CNY", now, "succeeded")
    first = pay("10.00", "pay-x")
    dummy.DISAGREEMENTS[("charge", first.psp_reference)] = None
    reconcile_gateway("dummy", timezone.localdate())
    return first


def test_finance_staff_page_through_mismatches_in_constant_queries(many_mismatches, staff_factory):
    api = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_FINANCE))
    today = timezone.localdate().isoformat()
    with CaptureQueriesContext(connection) as small:
        page = api.execute(QUERY, {"date": today, "first": 2})["reconciliationMismatches"]
    with CaptureQueriesContext(connection) as large:
        everything = api.execute(QUERY, {"date": today, "first": 50})["reconciliationMismatches"]
    assert len(small) == len(large)
    assert page["totalCount"] == 13 and len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"]
    nodes = [edge["node"] for edge in everything["edges"]]
    missing = next(n for n in nodes if n["problem"] == "MISSING_AT_GATEWAY")
    assert missing["ourAmount"] == {"amount": "10.00", "currency": "CNY"} and missing["gatewayAmount"] is None
    assert missing["paymentId"] and missing["reviewed"] is False
    ghost = next(n for n in nodes if n["pspReference"] == "ghost-4")
    assert ghost["problem"] == "MISSING_HERE" and ghost["gatewayAmount"] == {"amount": "5.00", "currency": "CNY"}
    after = api.execute(QUERY, {"date": today, "first": 50, "after": page["pageInfo"]["endCursor"]})
    assert len(after["reconciliationMismatches"]["edges"]) == 11
    assert api.execute(QUERY, {"gateway": "alipay"})["reconciliationMismatches"]["totalCount"] == 0
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert api.execute(QUERY, {"date": yesterday})["reconciliationMismatches"]["totalCount"] == 0


def test_nobody_else_sees_mismatches(many_mismatches, staff_factory, user_factory):
    for user in (user_factory(), staff_factory(PlatformPermission.MANAGE_ORDERS)):
        api = GraphQLClient(CORE_URL).login(user)
        assert api.execute(QUERY)["reconciliationMismatches"]["totalCount"] == 0
    assert GraphQLClient(CORE_URL).execute(QUERY)["reconciliationMismatches"]["totalCount"] == 0


def test_the_admin_lists_mismatches_and_finance_staff_mark_them_reviewed(client, many_mismatches, staff_factory):
    finance = staff_factory(PlatformPermission.MANAGE_FINANCE)
    client.force_login(finance)
    listing = client.get("/admin/payments/reconciliationmismatch/")
    assert listing.status_code == 200 and b"ghost-4" in listing.content and b"10.00 CNY" in listing.content
    mismatch = ReconciliationMismatch.objects.get(problem=MismatchProblem.MISSING_AT_GATEWAY)
    page = f"/admin/payments/reconciliationmismatch/{mismatch.pk}/change/"
    assert client.get(page).status_code == 200
    refused = client.post(page, {"review_note": ""})
    assert refused.status_code == 200  # the form says the note is required
    mismatch.refresh_from_db()
    assert mismatch.reviewed_at is None
    client.post(page, {"review_note": "Refunded by hand at the gateway; ticket 42."})
    mismatch.refresh_from_db()
    assert mismatch.reviewed_by == finance and mismatch.review_note.startswith("Refunded by hand")
    assert mismatch.our_amount == Decimal("10.00") and mismatch.problem == MismatchProblem.MISSING_AT_GATEWAY
    # Staff without MANAGE_FINANCE see nothing of it.
    client.force_login(staff_factory(PlatformPermission.MANAGE_ORDERS))
    assert client.get("/admin/payments/reconciliationmismatch/").status_code == 403
