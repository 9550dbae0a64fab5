import pytest

from ..factories import VendorFactory, vendor_with_owner


@pytest.fixture
def vendor(db):
    return VendorFactory()


@pytest.fixture
def other_vendor(db):
    return VendorFactory()


@pytest.fixture
def vendor_and_owner(db):
    return vendor_with_owner()


@pytest.fixture
def scripted_gateway(settings):
    from .gateways import PATH, ScriptedGateway

    settings.PLUGINS = [*settings.PLUGINS, PATH]
    ScriptedGateway.reset()
    return ScriptedGateway


@pytest.fixture
def configure_plugin(db):
    """Activate and configure a plugin as staff would (a PluginConfiguration row)."""
    from plugins.models import PluginConfiguration

    def configure(identifier: str, active: bool = True, **configuration):
        PluginConfiguration.objects.update_or_create(
            identifier=identifier, defaults={"active": active, "configuration": configuration}
        )

    return configure


# --- Alipay and WeChat Pay against their local fakes ---

ALIPAY_APP_ID = "2021000000000001"


@pytest.fixture
def alipay_fake():
    from .fakes.alipay_fake import AlipayFake
    from .fakes.keys import shared_pair

    fake = AlipayFake(
        app_id=ALIPAY_APP_ID, app_public_pem=shared_pair("alipay-app").public_pem, alipay_pair=shared_pair("alipay")
    ).start()
    yield fake
    fake.stop()


def alipay_configuration(fake, **overrides) -> dict:
    from .fakes.keys import shared_pair

    return {
        "app_id": ALIPAY_APP_ID,
        "app_private_key": shared_pair("alipay-app").private_pem,
        "alipay_public_key": shared_pair("alipay").public_pem,
        "gateway_url": fake.url,
        "notify_url": "http://testserver/webhooks/payments/alipay/",
        "return_url": "https://shop.example/paid",
        "timeout_seconds": 1,
        **overrides,
    }


@pytest.fixture
def alipay(alipay_fake, configure_plugin):
    """The Alipay plugin, active, talking to the fake."""
    from plugins.payments.alipay import AlipayGatewayPlugin

    configuration = alipay_configuration(alipay_fake)
    configure_plugin("alipay", active=True, **configuration)
    return AlipayGatewayPlugin(configuration=configuration, active=True)


WECHAT_MCHID = "1900000109"


@pytest.fixture(scope="session")
def wechat_keys():
    from .fakes.keys import apiv3_key, certificate_pem, self_signed_certificate, serial_hex, shared_pair

    merchant = shared_pair("wechat-merchant")
    platform = shared_pair("wechat-platform")
    certificate = self_signed_certificate(platform, "Tenpay.com Root CA (fake)")
    merchant_certificate = self_signed_certificate(merchant, WECHAT_MCHID)
    return {
        "merchant": merchant,
        "merchant_serial": serial_hex(merchant_certificate),
        "platform": platform,
        "certificate": certificate,
        "certificate_pem": certificate_pem(certificate),
        "apiv3_key": apiv3_key(),
    }


@pytest.fixture
def wechat_fake(wechat_keys):
    from .fakes.wechatpay_fake import WeChatPayFake

    fake = WeChatPayFake(
        mchid=WECHAT_MCHID,
        merchant_public_pem=wechat_keys["merchant"].public_pem,
        merchant_serial=wechat_keys["merchant_serial"],
        platform_pair=wechat_keys["platform"],
        platform_certificate=wechat_keys["certificate"],
        apiv3_key=wechat_keys["apiv3_key"],
    ).start()
    yield fake
    fake.stop()


def wechat_configuration(fake, keys, *, with_certificate=True, **overrides) -> dict:
    return {
        "mchid": WECHAT_MCHID,
        "appid": "wx0000000000000001",
        "merchant_serial_no": keys["merchant_serial"],
        "merchant_private_key": keys["merchant"].private_pem,
        "apiv3_key": keys["apiv3_key"],
        "platform_certificates": keys["certificate_pem"] if with_certificate else "",
        "base_url": fake.url,
        "notify_url": "http://testserver/webhooks/payments/wechatpay/",
        "timeout_seconds": 1,
        **overrides,
    }


@pytest.fixture
def wechatpay(wechat_fake, wechat_keys, configure_plugin):
    from plugins.payments.wechatpay import WeChatPayGatewayPlugin

    configuration = wechat_configuration(wechat_fake, wechat_keys)
    configure_plugin("wechatpay", active=True, **configuration)
    return WeChatPayGatewayPlugin(configuration=configuration, active=True)
