"""Friendly Dutch error pages with the right status; never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, abort, current_app, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from quiz.links import TokenExpired, TokenInvalid

# Specific situations, passed as abort(status, description=key).
MESSAGES: dict[str, tuple[str, str]] = {
    "invalid_confirm": (
        "Deze bevestigingslink klopt niet",
        "De link is niet compleet of is veranderd. Kopieer de hele link uit de e-mail, "
        "of meld je opnieuw aan.",
    ),
    "expired_confirm": (
        "Deze bevestigingslink is verlopen",
        "Een bevestigingslink is {days} dagen geldig. Meld je opnieuw aan; je krijgt dan een nieuwe link.",
    ),
    # A confirm link whose participant is no longer waiting for confirmation:
    # what is true for them, not "verlopen" (see signup.views._participant_from_token).
    "erased_confirm": (
        "Je gegevens zijn gewist",
        "We hebben je e-mailadres, naam en andere gegevens gewist. Daarom werkt deze link niet meer. "
        "Wil je toch meedoen? Meld je dan opnieuw aan.",
    ),
    "unsubscribed_confirm": (
        "Je bent afgemeld",
        "Je hebt je afgemeld voor deze quiz. Daarom werkt deze link niet meer en krijg je geen e-mails "
        "meer van ons.",
    ),
    "bounced_confirm": (
        "Onze e-mail kwam niet aan",
        "Je mailserver stuurde een e-mail van ons terug. Daarom sturen we nu geen e-mails naar dit adres "
        "en werkt deze link niet meer.",
    ),
    "confirmed_confirm": (
        "Je aanmelding is al bevestigd",
        "Je doet al mee: je hoeft niets meer te doen. De vragen komen per e-mail. Onderaan elke quizmail "
        "staat de link naar Mijn quiz.",
    ),
    "gone_confirm": (
        "Deze aanmelding bestaat niet meer",
        "We bewaren deze aanmelding niet meer. Wil je meedoen? Meld je dan opnieuw aan.",
    ),
    "invalid_answer": (
        "Deze antwoordlink klopt niet",
        "De link is niet compleet of is veranderd. Tik in de e-mail nog een keer op je antwoord.",
    ),
    "expired_answer": (
        "Deze vraag is gesloten",
        "Je kunt deze vraag niet meer beantwoorden: de quiz is afgelopen. Bedankt voor het meedoen!",
    ),
    "invalid_manage": (
        "Deze link naar Mijn quiz klopt niet",
        "De link is niet compleet of is veranderd. Gebruik de link onderaan een van de quizmails.",
    ),
    "expired_manage": (
        "Deze link naar Mijn quiz werkt niet meer",
        "De quiz is al een tijd afgelopen, of je gegevens zijn gewist. Daarom kun je deze pagina "
        "niet meer bekijken.",
    ),
    "expired_erase": (
        "Deze link werkt niet meer",
        "Met deze link kun je je gegevens niet meer wissen: er is nu niets gewist. Wil je dat we je "
        "gegevens wissen? Mail ons; het adres staat in de privacyverklaring.",
    ),
    "erased_erase": (
        "Je gegevens zijn al gewist",
        "We hebben je e-mailadres, naam en andere gegevens al eerder gewist. Daarom werkt deze link "
        "niet meer.",
    ),
    "invalid_unsubscribe": (
        "Deze afmeldlink klopt niet",
        "De link is niet compleet of is veranderd. Gebruik de afmeldlink onderaan een van de quizmails.",
    ),
    "expired_unsubscribe": (
        "Deze afmeldlink is te oud",
        "Deze link werkt niet meer. Met deze link ben je dus niet afgemeld. Krijg je nog e-mails "
        "van ons? Gebruik dan de afmeldlink onderaan de nieuwste e-mail.",
    ),
    "gone_unsubscribe": (
        "Deze aanmelding bestaat niet meer",
        "We hebben de gegevens van deze aanmelding al verwijderd. Via deze aanmelding krijg je geen "
        "e-mails meer. Krijg je toch nog e-mails van ons? Gebruik dan de afmeldlink onderaan die e-mail.",
    ),
    "invalid_discussed": (
        "Deze link klopt niet",
        "De link is niet compleet of is veranderd. Gebruik de link uit de e-mail.",
    ),
    "expired_discussed": (
        "Deze link werkt niet meer",
        "De quiz is al een tijd afgelopen. Daarom kun je dit niet meer doorgeven.",
    ),
    "invalid_repeat": (
        "Deze antwoordlink klopt niet",
        "De link is niet compleet of is veranderd. Tik in de e-mail met de herhaalvraag nog een keer "
        "op je antwoord.",
    ),
    "expired_repeat": (
        "Deze herhaalvraag is gesloten",
        "Je kunt deze herhaalvraag niet meer beantwoorden. Bedankt voor het meedoen!",
    ),
    "invalid_repeats_stop": (
        "Deze link klopt niet",
        "De link is niet compleet of is veranderd. Gebruik de link onderaan de e-mail met de herhaalvraag.",
    ),
    "expired_repeats_stop": (
        "Deze link werkt niet meer",
        "Met deze link zijn de herhaalvragen niet gestopt. Krijg je nog herhaalvragen? Gebruik dan de "
        "link onderaan de nieuwste e-mail.",
    ),
    "invalid_preview": (
        "Deze voorbeeldlink klopt niet",
        "De link is niet compleet of is veranderd. Maak een nieuw voorbeeld.",
    ),
    "expired_preview": (
        "Deze voorbeeldlink is verlopen",
        "Een voorbeeldlink is 30 dagen geldig, of de vraag bestaat niet meer. Maak een nieuw voorbeeld.",
    ),
}

GENERIC: dict[int, tuple[str, str]] = {
    400: ("Dat ging niet goed", "Het verzoek was niet compleet of niet geldig. Probeer het opnieuw."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet (meer). Controleer de link."),
    405: ("Dat kan hier niet", "Deze pagina werkt niet op deze manier. Ga terug en probeer het opnieuw."),
    410: ("Deze link is verlopen", "Deze link is niet meer geldig."),
    413: ("Dat is te veel", "Je hebt te veel tekst verstuurd. Maak het korter en probeer het opnieuw."),
    422: ("Controleer je invoer", "Niet alles is goed ingevuld."),
    429: (
        "Even wachten",
        "Je hebt dit te vaak geprobeerd. Wacht een paar minuten en probeer het dan opnieuw.",
    ),
    500: ("Er ging iets mis bij ons", "Het ligt niet aan jou. Probeer het over een paar minuten opnieuw."),
}


@contextmanager
def token_pages(purpose: str) -> Iterator[None]:
    """Inside the block, an expired link becomes the friendly 410 page and a
    tampered or foreign one the 400 page, both worded for `purpose`
    (MESSAGES["expired_<purpose>"] / MESSAGES["invalid_<purpose>"])."""
    try:
        yield
    except TokenExpired:
        abort(410, description=f"expired_{purpose}")
    except TokenInvalid:
        abort(400, description=f"invalid_{purpose}")


def error_page(status: int, key: str | None = None) -> tuple[str, int]:
    title, text = MESSAGES.get(key or "", GENERIC.get(status, GENERIC[400]))
    # The lifetime as configured, not a number written into the text.
    text = text.replace("{days}", str(current_app.config["QUIZ_TOKEN_MAX_AGE_DAYS"]))
    show_signup = key in ("invalid_confirm", "expired_confirm", "erased_confirm", "gone_confirm")
    return render_template(
        "error.html", status=status, title=title, text=text, show_signup=show_signup
    ), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            status=400,
            title="Het formulier is verlopen",
            text="Laad de pagina opnieuw en verstuur het formulier nog een keer.",
            show_signup=False,
        ), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # noqa: ANN202 - a page or the redirect itself
        status = exc.code or 500
        if status < 400:  # routing redirects (e.g. a missing trailing slash)
            return exc
        key = exc.description if exc.description in MESSAGES else None
        return error_page(status, key)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        return error_page(InternalServerError.code)
