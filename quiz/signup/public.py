"""Which campaign the front page `/` serves, and each campaign's own signup link and QR code.

An organiser chooses the public campaign (admin, or `quiz campaign public`);
creating another campaign never moves `/`. With none chosen, `/` lists the
campaigns whose signup is open, each with its own link `/c/<slug>`, which
works whether or not the campaign is public: that link and its QR code are
what posters and slides carry.
"""

from __future__ import annotations

import io
from datetime import datetime

import segno
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quiz.models import Campaign
from quiz.urls import external_url


def public_campaign(session: Session) -> Campaign | None:
    """The campaign an organiser chose for `/`, if any."""
    return session.scalar(select(Campaign).where(Campaign.public.is_(True)))


def open_campaigns(session: Session, now: datetime) -> list[Campaign]:
    """Campaigns whose signup is open at `now`, newest first (what `/` lists when none is public)."""
    campaigns = session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()))
    return [c for c in campaigns if c.signup_state(now) == "open"]


def make_public(session: Session, campaign: Campaign | None) -> None:
    """Make `campaign` the one `/` serves (None: no campaign; `/` lists the open ones), and commit.

    The other campaign stops being public first: the partial unique index
    allows one public campaign at a time, also between the two statements.
    Two organisers choosing at the same moment: one gets an IntegrityError.
    """
    try:
        session.execute(
            update(Campaign).where(Campaign.public.is_(True)).values(public=False),
            execution_options={"synchronize_session": "fetch"},
        )
        if campaign is not None:
            session.flush()
            campaign.public = True
        session.commit()
    except BaseException:
        session.rollback()
        raise


def signup_url(campaign: Campaign) -> str:
    """The campaign's own signup page, absolute (from QUIZ_BASE_URL), for posters and slides."""
    return external_url("signup.campaign_form", slug=campaign.slug)


def qr_svg(url: str) -> str:
    """A QR code of `url` as a standalone SVG document (segno), scalable for print.

    Error correction level M, not boosted: a shorter code with bigger
    modules reads better from a slide at the back of a room. A quiet zone of
    4 modules (what the QR standard asks) and a white background, so the
    code also scans on a coloured poster. The title names the link for
    screen readers and for whoever opens the file.
    """
    code = segno.make_qr(url, error="m", boost_error=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=8, border=4, dark="#000", light="#fff", title=url)
    return buffer.getvalue().decode("utf-8")
