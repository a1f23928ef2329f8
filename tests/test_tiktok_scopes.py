"""TikTok scope model: least privilege at consent, clear errors before any HTTP call."""

from __future__ import annotations

import pytest

from connectors import registry
from connectors.errors import ConfigError
from connectors.models import Vertical
from connectors.registry import ConnectorContext
from connectors.tiktok.factory import make_exporter
from connectors.tiktok.scopes import Category, check_granted, parse_categories, required_scopes, revoke_after_transfer
from tests.fakes.tiktok import FakeTikTok, FakeTokens


def test_parse_categories():
    assert parse_categories(None) == (Category.ALL_DATA,)
    assert parse_categories("video, profile,video") == (Category.PROFILE, Category.VIDEO)
    assert parse_categories(["video", "all_data"]) == (Category.ALL_DATA,)  # all_data wins
    assert parse_categories("direct_messages") == (Category.DIRECT_MESSAGE,)  # TikTok's doc slip
    with pytest.raises(ConfigError, match="unknown TikTok category 'photos'.*direct_message"):
        parse_categories("video,photos")


@pytest.mark.parametrize(
    ("categories", "ongoing", "scopes"),
    [
        (["all_data"], False, ("portability.all.single",)),
        (["video", "profile"], False, ("portability.postsandprofile.single",)),
        (["video", "direct_message"], True, ("portability.directmessages.ongoing", "portability.postsandprofile.ongoing")),
        (["activity"], True, ("portability.activity.ongoing",)),
    ],
)
def test_required_scopes_ask_only_for_what_is_needed(categories, ongoing, scopes):
    assert required_scopes(categories, ongoing) == scopes


def test_check_granted():
    check_granted(["video", "profile"], "portability.postsandprofile.single", ongoing=False)
    check_granted(["activity"], ["portability.all.ongoing"], ongoing=True)
    check_granted(["activity"], ["portability.activity.ongoing"], ongoing=False)  # ongoing covers a one-off
    with pytest.raises(ConfigError, match=r"direct_message needs portability.directmessages.single"):
        check_granted(["video", "direct_message"], "portability.postsandprofile.single", ongoing=False)
    with pytest.raises(ConfigError, match="a recurring transfer: activity needs portability.activity.ongoing"):
        check_granted(["activity"], "portability.activity.single", ongoing=True)


def test_revoke_after_transfer():
    assert revoke_after_transfer("portability.all.single")
    assert not revoke_after_transfer("portability.all.ongoing,portability.activity.single")
    assert not revoke_after_transfer("user.info.basic")


def test_scope_error_comes_before_any_call(tmp_path):
    with FakeTikTok() as fake:
        ctx = ConnectorContext(
            location="",
            options={"api_base": fake.base_url, "categories": "direct_message", "scopes": "portability.postsandprofile.single"},
            auth=FakeTokens(fake),
            staging_url=str(tmp_path),
        )
        with pytest.raises(ConfigError, match="direct_message needs portability.directmessages.single"):
            make_exporter(ctx)
        assert fake.calls.log == []


def test_scope_refused_by_tiktok_is_reauth(tmp_path):
    from connectors.errors import ReauthRequired

    with FakeTikTok() as fake:
        ctx = ConnectorContext(
            location="",
            options={"api_base": fake.base_url, "categories": "direct_message"},  # granted scopes unknown here
            auth=FakeTokens(fake, ("portability.postsandprofile.single",)),
            staging_url=str(tmp_path),
        )
        with make_exporter(ctx) as exp, pytest.raises(ReauthRequired, match="scope_not_authorized"):
            exp.list_page(Vertical.VIDEOS, None)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"data_format": "xml"}, "data_format"),
        ({"poll_interval": "soon"}, "poll_interval"),
    ],
)
def test_bad_options_are_config_errors(tmp_path, options, match):
    with pytest.raises(ConfigError, match=match):
        make_exporter(ConnectorContext(location="", options=options, auth=object(), staging_url=str(tmp_path)))


def test_registration():
    connector = registry.get("tiktok")
    assert connector.capabilities.exports == {Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS}
    assert connector.capabilities.ephemeral_bytes
    assert connector.oauth.client_id_param == "client_key"
    assert connector.oauth.scopes == ("portability.all.single",)
    assert connector.make_importer is None
