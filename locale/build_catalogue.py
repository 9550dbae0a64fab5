"""Writes locale/zh_Hans/LC_MESSAGES/django.po from the template xgettext extracts and the
translations below (English msgid -> Simplified Chinese). Run from the repository root:

    xgettext --language=Python --keyword=_ --keyword=gettext --keyword=gettext_lazy --keyword=gettext_noop \
        --from-code=UTF-8 --no-location -o /tmp/messages.pot $(git ls-files 'backend/*.py' 'storefront_api/*.py' 'plugins/*.py')
    python locale/build_catalogue.py /tmp/messages.pot
    python manage.py compilemessages -l zh_Hans

The messages of the Django templates ({% translate %}, {% blocktranslate %}) are added by the script
itself (xgettext cannot read templates): every tracked template under backend/, storefront_api/ and
plugins/ is turned into Python-like source by Django's own `templatize` (what makemessages does),
and xgettext extracts that; run it with the project's Python, which has Django.

Both the .po and the compiled .mo are committed, so nothing here runs at install or test time.
"""

import ast
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FILES = ("backend/*templates/*", "storefront_api/*templates/*", "plugins/*templates/*")
TEMPLATE_SUFFIXES = (".html", ".txt")
# The keywords makemessages gives xgettext for templatized templates (gettext and ngettext are Python's own).
TEMPLATE_KEYWORDS = ("gettext_noop", "gettext_lazy", "ngettext_lazy:1,2", "pgettext:1c,2", "npgettext:1c,2,3",
                     "pgettext_lazy:1c,2", "npgettext_lazy:1c,2,3")

ZH = {
    "Unsupported persisted query version; send version 1.": "不支持的持久化查询版本；请使用版本 1。",
    "persistedQuery.sha256Hash must be the 64 hexadecimal digits of a SHA-256.":
    "persistedQuery.sha256Hash 必须是 SHA-256 的 64 位十六进制数字。",
    "Confirm your email address": "请确认您的电子邮箱地址",
    "Welcome to the marketplace.\n\nConfirm your email address with this token (accountConfirm):\n\n"
    "email: %(email)s\ntoken: %(token)s\n\nIf you did not register, ignore this email.":
    "欢迎来到商城。\n\n请用以下令牌确认您的电子邮箱地址（accountConfirm）：\n\n"
    "email: %(email)s\ntoken: %(token)s\n\n如果您没有注册，请忽略此邮件。",
    "Someone tried to register with your email address": "有人尝试用您的电子邮箱地址注册",
    "Someone tried to register a new account with %(email)s, which already has one.\n\n"
    "If it was you, sign in; if you forgot your password, ask for a reset (passwordResetRequest). "
    "Otherwise you need not do anything.":
    "有人尝试用 %(email)s 注册新账户，但该邮箱已有账户。\n\n"
    "如果是您本人，请直接登录；如果忘记了密码，请申请重置（passwordResetRequest）。否则无需任何操作。",
    "Reset your password": "重置您的密码",
    "Someone asked to reset the password of %(email)s.\n\n"
    "Set a new password with this token (passwordResetConfirm):\n\n"
    "email: %(email)s\ntoken: %(token)s\n\n"
    "The token works once and expires. If you did not ask, ignore this email: your password stays as it is.":
    "有人申请重置 %(email)s 的密码。\n\n请用以下令牌设置新密码（passwordResetConfirm）：\n\n"
    "email: %(email)s\ntoken: %(token)s\n\n该令牌只能使用一次，并会过期。如果不是您申请的，请忽略此邮件：您的密码不会改变。",
    "You are invited to join %(store)s": "%(store)s 邀请您加入",
    "The owner of %(store)s invites you to work for the store as %(role)s.\n\n"
    "Sign in (or register) with %(email)s and accept or decline the invitation "
    "(vendorStaffInvitationAccept / vendorStaffInvitationDecline) with this token, "
    "or from the pending invitations of your account:\n\ntoken: %(token)s\n\n"
    "If you do not know the store, ignore this email.":
    "%(store)s 的店主邀请您以「%(role)s」的身份加入店铺。\n\n"
    "请用 %(email)s 登录（或注册），然后用以下令牌或在账户的待处理邀请中接受或拒绝邀请"
    "（vendorStaffInvitationAccept / vendorStaffInvitationDecline）：\n\ntoken: %(token)s\n\n"
    "如果您不认识这家店铺，请忽略此邮件。",
    "Owner": "店主",
    "Operator": "运营",
    "Customer service": "客服",
    "Enter a valid email address.": "请输入有效的电子邮箱地址。",
    "The email address is too long.": "电子邮箱地址太长。",
    "At most %(limit)d characters.": "最多 %(limit)d 个字符。",
    "An account with this email exists.": "该电子邮箱已有账户。",
    "The token is wrong or has expired.": "令牌错误或已过期。",
    "Wrong email or password.": "电子邮箱或密码错误。",
    "This account is inactive.": "该账户已停用。",
    "Confirm your email address first (accountConfirm with the emailed token).":
    "请先确认您的电子邮箱地址（用邮件中的令牌调用 accountConfirm）。",
    "The refresh token has been revoked.": "刷新令牌已被撤销。",
    "This refresh token was already used; all tokens of this sign-in are revoked.":
    "该刷新令牌已被使用过；此次登录的所有令牌均已撤销。",
    "The old password is wrong.": "原密码错误。",
    "At most %(count)d sign-in or account operations per request.": "每个请求最多 %(count)d 个登录或账户操作。",
    "Too many failed sign-in attempts from your address; try again later.": "您的地址登录失败次数过多，请稍后再试。",
    "Too many failed sign-in attempts for this email; try again later.": "该电子邮箱登录失败次数过多，请稍后再试。",
    "Too many failed sign-in attempts for this email; try again in %(seconds)d seconds.":
    "该电子邮箱登录失败次数过多，请在 %(seconds)d 秒后再试。",
    "Too many account requests from your address; try again later.": "您的地址账户请求过多，请稍后再试。",
    "The store has too many pending invitations; revoke some first.": "店铺的待处理邀请过多，请先撤销一些。",
    "Only a pending invitation can be revoked.": "只能撤销待处理的邀请。",
    "Give the invitation's id or its token.": "请提供邀请的 ID 或令牌。",
    "No such invitation for your account.": "您的账户没有这个邀请。",
    "The invitation is no longer pending.": "该邀请已不再待处理。",
    "The invitation has expired.": "该邀请已过期。",
    "Platform staff cannot work for a store.": "平台员工不能为店铺工作。",
    "You already work for a store.": "您已在一家店铺工作。",
    # Stores (backend/vendors/services.py) and the labels its messages show.
    "Business licence": "营业执照",
    "Trademark certificate": "商标注册证",
    "Brand authorisation": "品牌授权书",
    "Onboarding (fee or deposit unpaid)": "入驻中（年费或保证金未缴）",
    "Active": "营业中",
    "Restricted (fee or deposit short)": "受限（年费或保证金不足）",
    "Suspended": "已暂停",
    "Closing": "关闭中",
    "Closed": "已关闭",
    " or ": "或",
    "This field is required.": "此项为必填项。",
    "Choose at least one category.": "请至少选择一个类目。",
    "At most %(count)d documents.": "最多 %(count)d 份文件。",
    "Unknown document type %(type)r.": "未知的文件类型 %(type)r。",
    "Each document needs a file.": "每份文件都需要上传文件。",
    "A %(document)s is required.": "缺少%(document)s。",
    "Only the store's %(roles)s may do this.": "只有店铺的%(roles)s可以执行此操作。",
    "The store is closed.": "店铺已关闭。",
    "Platform staff accounts cannot open a store.": "平台员工账户不能开店。",
    "You already have an application under review.": "您已有一份正在审核的申请。",
    "Only the applicant may change an application.": "只有申请人可以修改申请。",
    "The applicant already works for a store.": "申请人已在一家店铺工作。",
    "Could not find a free address for the store; try again.": "无法为店铺找到可用的地址，请重试。",
    "Unknown role %(role)r.": "未知的角色 %(role)r。",
    "A store keeps at least one owner.": "店铺至少要保留一位店主。",
    "%(action)s is not possible for a store that is %(status)s.": "店铺当前为「%(status)s」，无法执行 %(action)s。",
    # Refusals of both GraphQL APIs (backend/core/query_cost.py, backend/graphql/core/).
    "The document has more than %(maximum)d tokens.": "查询文档超过 %(maximum)d 个记号。",
    "The query is nested %(depth)d levels deep; at most %(maximum)d are allowed.":
    "查询嵌套了 %(depth)d 层；最多允许 %(maximum)d 层。",
    "The query uses %(aliases)d aliases; at most %(maximum)d are allowed.":
    "查询使用了 %(aliases)d 个别名；最多允许 %(maximum)d 个。",
    "The query costs %(cost)d; at most %(maximum)d is allowed. Ask for smaller pages "
    "(first/last) or fewer nested lists.":
    "查询成本为 %(cost)d；最多允许 %(maximum)d。请减小分页（first/last）或减少嵌套列表。",
    "Text may not contain control characters (such as NUL) other than tab, line feed and carriage return.":
    "文本不能包含控制字符（如 NUL），制表符、换行符和回车符除外。",
    "This request has been refused as a potential cross-site request forgery. Send it with "
    "Content-Type: application/json, or with a non-empty Apollo-Require-Preflight header "
    "(multipart uploads).":
    "此请求疑似跨站请求伪造，已被拒绝。请使用 Content-Type: application/json 发送，"
    "或带上非空的 Apollo-Require-Preflight 请求头（文件上传）。",
    "Say what was found or done.": "请说明发现了什么或做了什么。",
    # Payment sessions (backend/checkout/services.py).
    "The payment gateway did not answer in time; try again.": "支付网关未及时响应，请重试。",
    "The payment was declined.": "付款被拒绝。",
    "The payment gateway failed; try again.": "支付网关出错，请重试。",
    "The return URL must be an http(s) address.": "返回地址必须是 http(s) 网址。",
    "No such payment session for this checkout.": "此结账单没有该支付会话。",
    "This payment session is closed; start a new payment.": "该支付会话已关闭，请重新发起付款。",
    "The payment has not started at the gateway yet; ask for it again.": "支付网关尚未创建这笔付款，请重新发起。",
    "The payment is not confirmed yet; confirm it with the gateway first.": "付款尚未确认，请先在支付网关完成确认。",
    "The gateway reports another amount than this payment asked for.": "支付网关报告的金额与本次付款要求的金额不符。",
    "The checkout changed after the payment started; the payment is given back.": "发起付款后结账单有变动，款项将退回。",
    "This gateway is paid through a payment session (checkoutPaymentCreate).": "该支付网关须通过支付会话付款（checkoutPaymentCreate）。",
    "No province or city with the code %(code)s.": "没有代码为 %(code)s 的省份或城市。",
    "List every picture of the listing exactly once.": "请把商品的每张图片列出一次，且只列一次。",
    "The refresh token is not valid.": "刷新令牌无效。",
    # Analytics (backend/analytics/selectors.py, the staff page in backend/analytics/admin.py).
    "You may not see these figures.": "您无权查看这些数据。",
    "The period is day, week or month.": "统计周期只能是日、周或月。",
    "The range starts after it ends.": "日期范围的开始晚于结束。",
    "A range is at most %(days)d days.": "日期范围最多 %(days)d 天。",
    "From": "开始日期",
    "To": "结束日期",
    "Period": "统计周期",
    "Store": "店铺",
    "The platform": "全平台",
    "Analytics": "数据分析",
    "Visitors": "访客数",
    "Orders": "订单数",
    "GMV": "成交总额（GMV）",
    "Conversion rate": "转化率",
    "Average order value": "客单价",
    "Refund rate": "退款率",
    "Dispute rate": "纠纷率",
    "Repurchase rate": "复购率",
    "New shoppers": "新买家",
    "Returning shoppers": "回头客",
    "Commission": "佣金",
    "Fees": "费用",
    "Deposits forfeited": "扣除的保证金",
    "Platform revenue": "平台收入",
    "Take rate": "平台抽成率",
    "Searches without results": "无结果搜索",
    "New stores": "新店铺",
    "Active stores": "活跃店铺",
    'No such order.': '没有这个订单。',
    'Name the carrier.': '请指定承运商。',
    "Name the carrier's service.": '请指定承运商的服务。',
    "This order's parcel is being booked with %(carrier)s (%(service)s); ship it with that carrier and service again to finish the booking.": '该订单的包裹正在向 %(carrier)s（%(service)s）下单；请用同一承运商和服务再次发货以完成下单。',
    "This order's parcel is being booked.": '该订单的包裹正在下单。',
    'The carrier returned a tracking number already in use.': '承运商返回的运单号已被使用。',
    'The order was %(status)s while its parcel was being booked; the booking is cancelled.': '包裹下单期间订单已变为 %(status)s；下单已取消。',
    "A dispute holds this order's money; it is released when resolved.": '该订单的款项因纠纷被冻结，纠纷解决后再结算。',
    'Only a shipped or delivered order has a confirmation deadline.': '只有已发货或已送达的订单才有确认收货期限。',
    'The confirmation deadline was already extended once.': '确认收货期限已经延长过一次。',
    'An idempotency key is required.': '需要幂等键。',
    'The key %(key)s was used for another refund.': '键 %(key)s 已用于另一笔退款。',
    'The order was not paid.': '该订单未付款。',
    'The order is in %(currency)s.': '该订单的币种是 %(currency)s。',
    "The amount must be positive, in the currency's unit.": '金额必须为正数，并以该币种的最小单位计。',
    'At most %(amount)s %(currency)s is left to refund.': '最多还可退款 %(amount)s %(currency)s。',
    'The gateway refused the refund: %(reason)s': '支付网关拒绝了退款：%(reason)s',
    'The gateway refused the refund.': '支付网关拒绝了退款。',
    'Only an order that has not been shipped can be cancelled; after shipment, open a dispute.': '只有未发货的订单可以取消；发货后请发起纠纷。',
    'A refund of the whole order is under way; the order cannot be cancelled as well.': '该订单的全额退款正在处理中，不能再取消订单。',
    'The order is cancelled, but the gateway refused its refund: %(reason)s': '订单已取消，但支付网关拒绝了退款：%(reason)s',
    '%(gateway)s cannot list its records.': '%(gateway)s 无法列出其交易记录。',
    '%(gateway)s cannot take %(amount)s %(currency)s.': '%(gateway)s 无法收取 %(amount)s %(currency)s。',
    'No active payment gateway %(gateway)s.': '没有启用的支付网关 %(gateway)s。',
    'The amount must be positive.': '金额必须为正数。',
    'Too many decimal places for %(currency)s.': '%(currency)s 的小数位数过多。',
    'The idempotency key %(key)s was already used for a different %(kind)s.': '幂等键 %(key)s 已用于另一笔%(kind)s。',
    'The payment gateway did not answer in time; try again with the same request.': '支付网关未及时响应，请用相同的请求重试。',
    'The gateway refused the request.': '支付网关拒绝了该请求。',
    'The payment gateway failed.': '支付网关出错。',
    'A payment token is required.': '需要支付令牌。',
    'This payment was cancelled.': '该笔付款已取消。',
    'Cannot capture more than was authorized.': '扣款金额不能超过授权金额。',
    'The payment is in %(currency)s.': '该笔付款的币种是 %(currency)s。',
    'A %(status)s payment cannot be refunded.': '状态为 %(status)s 的付款不能退款。',
    'Only %(amount)s %(currency)s is left to refund.': '只剩 %(amount)s %(currency)s 可退款。',
    'The payment gateway did not answer in time; the refund is finished later, or try again with the same request.': '支付网关未及时响应；退款稍后会完成，您也可以用相同的请求重试。',
    'The payment gateway failed; the refund is finished later, or try again with the same request.': '支付网关出错；退款稍后会完成，您也可以用相同的请求重试。',
    'No active gateway can pay vendors out.': '没有可向商家付款的已启用网关。',
    '%(gateway)s takes no webhooks.': '%(gateway)s 不接收 Webhook。',
    '%(product)s (%(sku)s) is no longer available.': '%(product)s（%(sku)s）已下架。',
    '%(product)s is sold in %(currency)s.': '%(product)s 以 %(currency)s 销售。',
    'Only %(count)s of %(product)s (%(sku)s) left.': '%(product)s（%(sku)s）仅剩 %(count)s 件。',
    'Add a shipping address.': '请添加收货地址。',
    'Choose how %(store)s ships.': '请选择 %(store)s 的配送方式。',
    '%(email)s is not an email address.': '%(email)s 不是有效的电子邮箱地址。',
    'No such product variant.': '没有这个商品规格。',
    'Quantities are 1 to %(most)s.': '数量应为 1 到 %(most)s。',
    'Quantities are whole numbers.': '数量必须是整数。',
    'Add at least one.': '至少添加一件。',
    'A checkout holds at most %(most)s lines.': '一张结账单最多包含 %(most)s 行商品。',
    'Quantities are whole numbers, zero or more.': '数量必须是大于或等于零的整数。',
    'No such line in this checkout.': '该结账单中没有这一行。',
    'Give an email address.': '请填写电子邮箱地址。',
    'Give the region (province or city code).': '请填写地区（省或市的代码）。',
    'No region with code %(region)s.': '没有代码为 %(region)s 的地区。',
    'Give the street address.': '请填写街道地址。',
    'Add a shipping address first.': '请先添加收货地址。',
    'This checkout has nothing from that store.': '该结账单中没有这家店铺的商品。',
    '%(carrier)s does not ship this package to this address.': '%(carrier)s 不配送这个包裹到该地址。',
    'The checkout has no lines.': '该结账单中没有商品。',
    'Prices changed since you last looked; check the new totals.': '价格已变动，请确认新的总额。',
    'Choose a payment gateway.': '请选择支付网关。',
    'Give an email address for the order.': '请为订单填写电子邮箱地址。',
    'The price of %(sku)s changed.': '%(sku)s 的价格已变动。',
    # --- promotions ---
    "A voucher on this checkout can no longer be used; remove it to see the new total.":
    "结账单上有一张优惠券已无法使用；请移除它以查看新的总价。",
    "Nothing in this checkout is covered by the voucher.": "结账单中没有适用该优惠券的商品。",
    "The goods it covers do not reach the voucher's threshold yet.": "适用商品的金额尚未达到该优惠券的使用门槛。",
    "Another voucher of the same kind is applied already.": "已使用了同类的另一张优惠券。",
    "There is nothing left for the voucher to take off.": "已没有可供该优惠券抵扣的金额。",
    "The voucher is not valid now.": "该优惠券当前不在有效期内。",
    "The voucher has been used up.": "该优惠券已被领完或用完。",
    "You have used this voucher as often as it allows.": "您使用该优惠券的次数已达上限。",
    "No voucher with this code.": "没有该券码对应的优惠券。",
    "Give a voucher code or a claimed coupon.": "请输入券码或选择已领取的优惠券。",
    "You have not claimed this coupon.": "您尚未领取该优惠券。",
    "This checkout was completed; start a new one.": "该结账单已完成，请重新下单。",
    "This voucher is not applied to the checkout.": "结账单上没有使用该优惠券。",
    "Sign in to claim coupons.": "请登录后领取优惠券。",
    "No such coupon.": "没有该优惠券。",
    "You have claimed this coupon already.": "您已领取过该优惠券。",
    "Give an amount in the currency's unit.": "请以该币种的单位填写金额。",
    "Amounts cannot be negative.": "金额不能为负数。",
    "Give the voucher a name of at most 128 characters.": "请为优惠券填写不超过 128 个字符的名称。",
    "A code is up to 32 letters and digits.": "券码最多由 32 个字母和数字组成。",
    "Unknown voucher kind.": "未知的优惠券类型。",
    "Only platform staff set the platform's share of a voucher.": "只有平台工作人员可以设置优惠券中平台承担的比例。",
    "A share is between 0 and 100 percent.": "承担比例须在 0 到 100% 之间。",
    "A limit is at least 1.": "限制次数至少为 1。",
    "Choose the voucher's kind.": "请选择优惠券类型。",
    "Give the amount off.": "请填写优惠金额。",
    "The amount off must be below the threshold.": "优惠金额必须低于使用门槛。",
    "A percentage off is above 0 and below 100.": "折扣百分比须大于 0 且小于 100。",
    "The voucher must end after it starts.": "优惠券的结束时间必须晚于开始时间。",
    "A voucher has a code, or is a claimable coupon, or both.": "优惠券须设有券码，或可供领取，或两者兼有。",
    "No such category.": "没有该类目。",
    "No such product.": "没有该商品。",
    "A store's voucher covers that store only.": "店铺优惠券只适用于本店铺。",
    "No such store.": "没有该店铺。",
    "Another voucher has this code.": "该券码已被另一张优惠券使用。",
    "Only a store's staff or finance staff create vouchers.": "只有店铺员工或财务工作人员可以创建优惠券。",
    "Only the store's owner or operators manage its vouchers.": "只有店主或运营可以管理店铺的优惠券。",
    "No such voucher.": "没有该优惠券。",
    "Flash sale": "限时秒杀",
    "The flash sale price is no longer available (sold out, over your limit or ended); the checkout shows the price now.":
    "秒杀价已无法享受（已抢光、超出限购或活动已结束）；结账单已显示当前价格。",
    "Only the store's owner or operators manage its flash sales.": "只有店主或运营可以管理店铺的限时秒杀。",
    "Give the flash sale a name of at most 128 characters.": "请为限时秒杀填写不超过 128 个字符的名称。",
    "The event price is above zero and below the regular price.": "活动价必须大于零且低于原价。",
    "Give the units on sale (at least 1).": "请填写参与活动的件数（至少 1 件）。",
    "More units than that were sold already.": "已售出的件数多于该数量。",
    "Give the flash sale's start and end.": "请填写限时秒杀的开始和结束时间。",
    "The flash sale must end after it starts.": "限时秒杀的结束时间必须晚于开始时间。",
    "Another flash sale of this variant overlaps these times.": "该规格在这段时间内已有另一场限时秒杀。",
    "No such variant.": "没有该商品规格。",
    "No such flash sale.": "没有该限时秒杀。",
    "Points": "积分抵扣",
    "Sign in to use points.": "请登录后使用积分。",
    "Give a number of points of 0 or more.": "请填写 0 或以上的积分数。",
    "You have %(balance)s points.": "您有 %(balance)s 积分。",
    "Your points balance changed; look at the checkout again.": "您的积分余额已变化，请重新查看结算页。",
    # Staff adjustments of members' points; the points cost beside the platform's revenue.
    "Give a number of points other than 0.": "请填写不为 0 的积分数。",
    "An adjustment moves at most %(max)s points.": "单次调整最多 %(max)s 积分。",
    "Give the reason for the adjustment.": "请填写调整原因。",
    "A reason is at most %(max)s characters.": "原因最多 %(max)s 个字符。",
    "This idempotency key was already used for a different adjustment.": "该幂等键已用于另一项调整。",
    "The member has %(balance)s points; a deduction never takes the balance below 0.":
    "该会员有 %(balance)s 积分；扣减不能使余额低于 0。",
    "Points cost": "积分成本",
    "Platform revenue less points cost": "平台收入（扣除积分成本）",
    # Group buying (拼团).
    "This order waits for its group to fill; ship it once the group is complete.": "该订单正在等待拼团成团；成团后再发货。",
    "Group deal": "拼团",
    "The group deal is not on now.": "该拼团活动当前未进行。",
    "This group has closed; start a new group or join another.": "该团已结束；请开新团或加入其他团。",
    "This group is full; start a new group or join another.": "该团已满；请开新团或加入其他团。",
    "You are in this group already.": "您已在该团中。",
    "You have bought as many units at this group deal's price as you may.": "您以拼团价购买的件数已达上限。",
    "Add the deal's variant to the checkout first.": "请先将拼团商品的规格加入结算单。",
    "No such group deal on now.": "当前没有该拼团活动。",
    "No such group.": "没有该团。",
    "Only the store's owner or operators manage its group deals.": "只有店主或运营可以管理店铺的拼团活动。",
    "Give the group deal a name of at most 128 characters.": "请为拼团活动填写不超过 128 个字符的名称。",
    "The deal price is above zero and below the regular price.": "拼团价必须大于零且低于原价。",
    "A group has 2 to 100 members.": "成团人数为 2 到 100 人。",
    "A group stays open 1 to 168 hours.": "每个团的有效时长为 1 到 168 小时。",
    "Give the group deal's start and end.": "请填写拼团活动的开始和结束时间。",
    "The group deal must end after it starts.": "拼团活动的结束时间必须晚于开始时间。",
    "Another group deal of this variant overlaps these times.": "该规格在这段时间内已有另一个拼团活动。",
    "No such group deal.": "没有该拼团活动。",
    # Django templates (admin pages): extracted by template_messages() below.
    "Home": "首页",
    "Show": "显示",
    "Download CSV": "下载 CSV",
    "GMV and orders": "成交额与订单数",
    "Visitors and conversion": "访客与转化率",
    "Platform revenue and take rate": "平台收入与平台抽成率",
    "Traffic by source": "各来源流量",
    "Top listings": "热销商品",
    "Listing": "商品",
    "Quantity": "数量",
    "Confirm": "确认",
    "Cancel": "取消",
    # Platform campaigns (backend/campaigns).
    "linked carrier pricing event": "关联的承运商活动定价",
    "Open selected campaigns for enrolment": "开放所选活动报名",
    "Cancel selected campaigns": "取消所选活动",
    "Approve selected enrolments": "通过所选报名",
    "Reject selected enrolments (the price or product does not fit the campaign)": "驳回所选报名（价格或商品不符合活动要求）",
    "The price or product does not fit the campaign.": "价格或商品不符合活动要求。",
    "The campaign price is no longer available (its units sold or the campaign ended); the checkout shows the price now.":
    "活动价已不可用（活动数量已售完或活动已结束）；结算页显示的是当前价格。",
    "You need the REVIEW_LISTINGS permission to manage campaigns.": "管理活动需要 REVIEW_LISTINGS 权限。",
    "Give the campaign a name of at most 128 characters.": "请为活动填写不超过 128 个字符的名称。",
    "Give the campaign a slug of letters, digits and dashes.": "请为活动填写由字母、数字和短横线组成的标识。",
    "A badge has at most 32 characters.": "角标最多 32 个字符。",
    "The minimum discount is between 0 and 99 percent.": "最低折扣须在 0 到 99 之间（百分比）。",
    "Give the campaign's start and end.": "请填写活动的开始和结束时间。",
    "The campaign must end after it starts.": "活动的结束时间必须晚于开始时间。",
    "Enrolment closes at the latest when the campaign starts.": "报名截止时间最晚为活动开始时间。",
    "Another campaign has this slug.": "已有其他活动使用此标识。",
    "No such carrier pricing event.": "没有这个承运商活动定价。",
    "A carrier pricing event is linked to another campaign.": "该承运商活动定价已关联到其他活动。",
    "No such campaign.": "没有这个活动。",
    "An ended or cancelled campaign cannot change.": "已结束或已取消的活动不能修改。",
    "A live campaign's window and rules cannot change.": "进行中的活动不能修改时间和规则。",
    "The campaign's window is over.": "活动时间已过。",
    "The campaign price is above zero and below the regular price.": "活动价须大于零且低于原价。",
    "The campaign price must be at least %(percent)s%% below the regular price (at most %(most)s).":
    "活动价须至少比原价低 %(percent)s%%（最高 %(most)s）。",
    "Give the units at the campaign price (at least 1).": "请填写活动价的数量（至少 1 件）。",
    "This campaign allows at most %(units)d units per variant.": "本活动每个规格最多 %(units)d 件。",
    "The campaign does not take products of this category.": "本活动不接受该类目的商品。",
    "A flash sale of this variant overlaps the campaign.": "该规格的限时折扣与活动时间重叠。",
    "Only the store's owner or operators enrol its products.": "只有店主或运营可以为店铺商品报名。",
    "The campaign does not take enrolments any more.": "该活动已不再接受报名。",
    "Only published listings are enrolled.": "只有已上架的商品可以报名。",
    "This variant is enrolled in the campaign already.": "该规格已报名此活动。",
    "No such enrolment.": "没有这个报名。",
    "An approved enrolment stays while the campaign runs.": "活动进行期间，已通过的报名不能撤回。",
    "Give the store a reason.": "请向店铺说明原因。",
    "Not found.": "未找到。",
}


def msgids(pot: str) -> list[str]:
    """The msgids of a .pot file, in order."""
    found, current, inside = [], None, False
    for line in pot.splitlines() + [""]:
        if line.startswith("msgid "):
            current, inside = ast.literal_eval(line[6:]), True
        elif line.startswith('"') and inside:
            current += ast.literal_eval(line)
        else:
            if inside and current:
                found.append(current)
            inside = False
    return found


def template_files(root: Path = ROOT) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", *TEMPLATE_FILES], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(name for name in listed if name.endswith(TEMPLATE_SUFFIXES))


def template_messages(root: Path = ROOT) -> list[str]:
    """The msgids of the templates' {% translate %} and {% blocktranslate %}, in order."""
    from django.utils.translation.template import templatize

    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for name in template_files(root):
            text = (root / name).read_text(encoding="utf-8")
            if "trans" not in text:
                continue
            source = Path(tmp) / (name.replace("/", "__") + ".py")
            source.write_text(templatize(text, origin=name), encoding="utf-8")
            sources.append(str(source))
        if not sources:
            return []
        pot = Path(tmp) / "templates.pot"
        subprocess.run(
            ["xgettext", "--language=Python", *(f"--keyword={k}" for k in TEMPLATE_KEYWORDS), "--from-code=UTF-8",
             "--no-location", "--force-po", "-o", str(pot), *sources],
            check=True,
        )
        return msgids(pot.read_text(encoding="utf-8"))


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [f"{line}\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{part}"' for part in parts)


def main(pot_path: str) -> None:
    ids = msgids(Path(pot_path).read_text())
    ids += [i for i in dict.fromkeys(template_messages()) if i not in set(ids)]
    missing = [i for i in ids if i not in ZH]
    if missing:
        sys.exit(f"untranslated: {missing}")
    out = [
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Language: zh_Hans\\n"',
        '"Plural-Forms: nplurals=1; plural=0;\\n"',
        "",
    ]
    for msgid in ids:
        if "%(" in msgid:
            out.append("#, python-format")
        out += [f"msgid {quote(msgid)}", f"msgstr {quote(ZH[msgid])}", ""]
    target = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {target} ({len(ids)} messages)")


if __name__ == "__main__":
    main(sys.argv[1])
