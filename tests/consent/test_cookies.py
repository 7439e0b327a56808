from gatekeeper.consent.cookies import CookieCategories, cookie_name
from gatekeeper.http import CookieJar, expire_cookies, parent_domains
from gatekeeper.plan import OWN_COOKIES
from gatekeeper.policy import parse_policy

POLICY = parse_policy(
    """
site: {name: T, revision: "1"}
secret_keys: ["0123456789012345678901234567890123456789"]
consent:
  unlisted_cookies: functional
  categories:
    necessary: {required: true, label: N, cookies: [csrftoken, sessionid]}
    functional: {label: F}
    analytics: {label: A, cookies: ["_ga", "_ga_*"]}
    ads: {label: Ads, cookies: ["IDE", "_gcl_*"]}
""",
    env={},
)


def test_names_globs_unlisted_and_our_own():
    categories = CookieCategories(POLICY.consent, OWN_COOKIES)
    assert categories.category("_ga") == "analytics"
    assert categories.category("_ga_ABC123") == "analytics"
    assert categories.category("_gcl_au") == "ads"
    assert categories.category("sessionid") == "necessary"
    assert categories.category("whatever") == "functional"
    assert categories.category("gk_consent") == "necessary"
    assert categories.category("gk_dismissed") == "necessary"
    assert categories.category("gk_adblock") == "necessary"


def test_only_our_exact_names_are_exempt_not_a_prefix():
    categories = CookieCategories(POLICY.consent, OWN_COOKIES)
    assert categories.category("gk_uid") == "functional"  # the app's, like any other


def test_header_parsing():
    assert cookie_name(b"_ga=GA1.1.2.3; Path=/; Max-Age=10") == "_ga"
    assert dict(CookieJar()(b'a=1; b=2;c=; =x; junk; a=3; d="q"')) == {
        "a": "1",
        "b": "2",
        "c": "",
        "d": "q",
    }


def test_parent_domains():
    assert parent_domains("www.news.example.co.uk:8443") == [
        "www.news.example.co.uk",
        "news.example.co.uk",
        "example.co.uk",
        "co.uk",
    ]
    assert parent_domains("localhost") == []
    assert parent_domains("127.0.0.1:8000") == []
    assert parent_domains("[::1]:8000") == []
    assert parent_domains(None) == []


def test_expiring_covers_host_only_and_each_parent_domain():
    headers = [value for _, value in expire_cookies(["_ga", "bad;name"], "www.example.com")]
    assert headers == [
        b"_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
        b"_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Domain=www.example.com",
        b"_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Domain=example.com",
    ]
