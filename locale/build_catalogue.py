"""Writes locale/zh_Hans/LC_MESSAGES/django.po from the template xgettext extracts and the
translations below (English msgid -> Simplified Chinese). Run from the repository root:

    xgettext --language=Python --keyword=_ --keyword=gettext_noop --from-code=UTF-8 --no-location \
        -o /tmp/accounts.pot backend/accounts/*.py backend/vendors/services.py
    python locale/build_catalogue.py /tmp/accounts.pot
    python manage.py compilemessages -l zh_Hans

Both the .po and the compiled .mo are committed, so nothing here runs at install or test time.
"""

import ast
import sys
from pathlib import Path

ZH = {
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
    "No province or city with the code %(code)s.": "没有代码为 %(code)s 的省份或城市。",
    "List every picture of the listing exactly once.": "请把商品的每张图片列出一次，且只列一次。",
    "The refresh token is not valid.": "刷新令牌无效。",
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


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [f"{line}\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{part}"' for part in parts)


def main(pot_path: str) -> None:
    ids = msgids(Path(pot_path).read_text())
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
