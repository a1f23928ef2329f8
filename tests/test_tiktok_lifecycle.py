"""TikTok data request lifecycle against the fake service: every state, cancel, expiry, errors."""

from __future__ import annotations

import pytest

from connectors.errors import FatalError, ReauthRequired, RetryableError, SourceNotReady
from connectors.models import Vertical
from connectors.registry import ConnectorContext
from connectors.state import MemoryStateSlot
from connectors.tiktok.cursor import Phase, TikTokCursor
from connectors.tiktok.factory import make_exporter
from connectors.tiktok.state import TikTokState
from tests.fakes.tiktok import FakeTikTok, FakeTokens


@pytest.fixture
def fake():
    with FakeTikTok() as service:
        yield service


#: one state slot per "job" (its staging folder), shared by every exporter built for it, as the
#: framework's job store would
_SLOTS: dict[str, MemoryStateSlot] = {}


def job_slot(tmp_path) -> MemoryStateSlot:
    return _SLOTS.setdefault(str(tmp_path / "staging"), MemoryStateSlot())


def exporter_for(fake, tmp_path, *, tokens=None, **options):
    tokens = tokens or FakeTokens(fake, ("portability.all.ongoing",))
    ctx = ConnectorContext(
        location="",
        options={"api_base": fake.base_url, "poll_interval": 10, "max_poll_interval": 80, **options},
        auth=tokens,
        staging_url=str(tmp_path / "staging"),
        state=job_slot(tmp_path),
    )
    return make_exporter(ctx)


def not_ready(exporter, vertical=Vertical.VIDEOS, cursor=None) -> SourceNotReady:
    with pytest.raises(SourceNotReady) as info:
        exporter.list_page(vertical, cursor)
    return info.value


def test_add_then_pending_with_backoff_then_ready(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        first = not_ready(exp)
        cursor = first.cursor
        assert isinstance(cursor, TikTokCursor) and cursor.phase == Phase.PENDING
        assert first.wake_key == str(cursor.request_id) and first.check_after == 10
        assert fake.requests[cursor.request_id].categories == ["all_data"]
        waits = []
        for _ in range(4):
            exc = not_ready(exp, cursor=cursor)
            cursor = exc.cursor
            waits.append(exc.check_after)
        assert waits == [20, 40, 80, 80]  # doubles, capped at max_poll_interval
        assert TikTokCursor.model_validate_json(cursor.model_dump_json()) == cursor
        fake.advance(cursor.request_id, "downloading")
        page = exp.list_page(Vertical.VIDEOS, cursor)
    assert [i.kind for i in page.items] == ["album", "video", "video"]
    assert page.next is None
    assert fake.adds() == 1


def test_webhook_configured_polls_at_the_slow_fallback(fake, tmp_path):
    with exporter_for(fake, tmp_path, webhook="true") as exp:
        assert not_ready(exp).check_after == 80


def test_resume_after_restart_and_all_verticals_share_one_request(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp, Vertical.SOCIAL_POSTS).cursor
        # Another vertical starting with no cursor joins the same request instead of adding.
        assert not_ready(exp, Vertical.BLOBS).cursor.request_id == cursor.request_id
    fake.advance(cursor.request_id)
    # A new process (fresh exporter, same staging) resumes from the saved JSON cursor.
    saved = TikTokCursor.model_validate_json(cursor.model_dump_json())
    with exporter_for(fake, tmp_path) as exp:
        posts = exp.list_page(Vertical.SOCIAL_POSTS, saved)
        blobs = exp.list_page(Vertical.BLOBS, None)
        videos = exp.list_page(Vertical.VIDEOS, None)
    assert len(posts.items) == 3 and blobs.items and videos.items
    assert fake.adds() == 1
    assert [c for c in fake.calls.log if c == "download"] == ["download"]


def test_paging_offsets(fake, tmp_path):
    with exporter_for(fake, tmp_path, page_size=4) as exp:
        cursor = not_ready(exp, Vertical.BLOBS).cursor
        fake.advance(cursor.request_id)
        seen, pages = [], 0
        while True:
            page = exp.list_page(Vertical.BLOBS, cursor)
            seen.extend(i.id for i in page.items)
            pages += 1
            if page.next is None:
                break
            cursor = page.next
            assert cursor.phase == Phase.STAGED
    assert pages > 1 and len(seen) == len(set(seen)) == page.total_hint


def test_expired_request_is_requested_again_not_failed(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id, "expired")
        again = not_ready(exp, cursor=cursor)
        assert again.cursor.request_id != cursor.request_id
        assert again.cursor.rerequests == 1 and "replaces expired request" in str(again)
        fake.advance(again.cursor.request_id)
        ids_first = [i.id for i in exp.list_page(Vertical.VIDEOS, again.cursor).items]
    assert fake.adds() == 2
    # Ids come from the content, not the request: a third request gives the same ids.
    with exporter_for(fake, tmp_path / "other") as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id)
        assert [i.id for i in exp.list_page(Vertical.VIDEOS, cursor).items] == ids_first


def test_expiry_after_download_while_staging_lost_requests_again(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id)
        page = exp.list_page(Vertical.VIDEOS, cursor)
    (tmp_path / "staging" / f"tiktok-{cursor.request_id}-1.zip").unlink()
    fake.advance(cursor.request_id, "expired")
    staged = TikTokCursor(request_id=cursor.request_id, phase=Phase.STAGED, offset=1)
    with exporter_for(fake, tmp_path) as exp:
        assert not_ready(exp, cursor=staged).cursor.rerequests == 1
    assert page.items


def test_expiring_too_often_is_fatal(fake, tmp_path):
    with exporter_for(fake, tmp_path, max_rerequests=1) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id, "expired")
        cursor = not_ready(exp, cursor=cursor).cursor
        fake.advance(cursor.request_id, "expired")
        with pytest.raises(FatalError, match="expired again"):
            exp.list_page(Vertical.VIDEOS, cursor)


def test_cancelled_elsewhere_is_fatal(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id, "cancelled")
        with pytest.raises(FatalError, match=f"request {cursor.request_id} was cancelled"):
            exp.list_page(Vertical.VIDEOS, cursor)


def test_unknown_status_names_the_value(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id, "failed")
        with pytest.raises(FatalError, match="unknown status 'failed'"):
            exp.list_page(Vertical.VIDEOS, cursor)


def test_cancel_pending_cancels_at_tiktok_and_is_idempotent(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        exp.cancel_pending(cursor)
        assert fake.requests[cursor.request_id].status == "cancelled"
        calls = len(fake.calls.log)
        exp.cancel_pending(cursor)  # already cancelled: TikTok is only asked how it stands
        exp.cancel_pending(None)  # the job's record is gone: nothing to cancel, nothing asked
        assert fake.calls.log[calls:] == ["check"]
    assert job_slot(tmp_path).load(TikTokState) is None
    assert not list((tmp_path / "staging").iterdir())  # nothing of ferry's own lies in staging


def test_cancel_pending_without_cursor_uses_the_state_slot(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id)
        exp.list_page(Vertical.VIDEOS, cursor)
        exp.cancel_pending(None)
    assert fake.requests[cursor.request_id].status == "cancelled"
    assert not list((tmp_path / "staging").glob("*.zip"))


@pytest.mark.parametrize("mode", ["cut", "short_zip"])
def test_truncated_download_is_retryable_and_downloaded_again(fake, tmp_path, mode):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id)
        fake.truncate_next_download(mode)
        with pytest.raises(RetryableError, match=f"request {cursor.request_id}"):
            exp.list_page(Vertical.VIDEOS, cursor)
        assert not list((tmp_path / "staging").glob("*.zip*"))  # no partial left behind
        page = exp.list_page(Vertical.VIDEOS, cursor)
    assert len(page.items) == 3
    assert fake.calls.log.count("download") == 2


def test_rate_limit_is_retryable_with_retry_after(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        fake.rate_limit_next(retry_after=2)  # the client then waits this long before its next call: keep it short
        with pytest.raises(RetryableError, match="rate limited") as info:
            exp.list_page(Vertical.VIDEOS, None)
        assert info.value.retry_after == 2
        assert fake.adds() == 1 and not fake.requests  # the 429'd add created nothing
        not_ready(exp)


def test_sliding_window_rate_limit(tmp_path):
    with FakeTikTok(rate_limit=(2, 3600)) as fake, exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor  # add
        cursor = not_ready(exp, cursor=cursor).cursor  # check
        with pytest.raises(RetryableError) as info:
            exp.list_page(Vertical.VIDEOS, cursor)
        assert info.value.retry_after and info.value.retry_after > 0


def test_body_error_code_on_http_200_is_not_success(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        fake.fail_next("internal_error", 200)
        with pytest.raises(RetryableError, match="internal_error"):
            exp.list_page(Vertical.VIDEOS, None)
        fake.fail_next("invalid_params", 200)
        with pytest.raises(FatalError, match="invalid_params.*fake-log-invalid_params"):
            exp.list_page(Vertical.VIDEOS, None)


def test_expired_token_is_refreshed_once_and_retried(fake, tmp_path):
    tokens = FakeTokens(fake, ("portability.all.ongoing",))
    fake.expire_access_token(tokens.access_token())
    with exporter_for(fake, tmp_path, tokens=tokens) as exp:
        not_ready(exp)
    assert tokens.refreshes == 1


def test_dead_credential_is_reauth(fake, tmp_path):
    tokens = FakeTokens(fake, ("portability.all.ongoing",))
    fake.expire_access_token(tokens.access_token())
    tokens._refresh = "rft.revoked"  # the refresh token is no longer valid at TikTok
    with exporter_for(fake, tmp_path, tokens=tokens) as exp:
        with pytest.raises(ReauthRequired):
            exp.list_page(Vertical.VIDEOS, None)
    assert "act." not in repr(tokens)


def test_single_scope_allows_one_add_so_expiry_needs_new_consent(fake, tmp_path):
    tokens = FakeTokens(fake, ("portability.all.single",))
    with exporter_for(fake, tmp_path, tokens=tokens) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id, "expired")
        with pytest.raises(ReauthRequired, match="scope_permission_missed"):
            exp.list_page(Vertical.VIDEOS, cursor)


def test_download_refused_after_ready_is_retried_through_check(fake, tmp_path):
    with exporter_for(fake, tmp_path) as exp:
        cursor = not_ready(exp).cursor
        fake.advance(cursor.request_id)
        fake.fail_next("invalid_params", 400, call="download")  # expired between Check and Download
        with pytest.raises(RetryableError, match="invalid_params.*checking the request again"):
            exp.list_page(Vertical.VIDEOS, cursor)
        assert len(exp.list_page(Vertical.VIDEOS, cursor).items) == 3
