"""TOTP (RFC 6238) with pyotp: new secrets, the otpauth:// URI and its QR code, and which time
step a code belongs to.

Codes are 6 digits over 30-second steps with SHA-1, what every authenticator app reads from a
plain otpauth URI. A code is looked up in the current step and one step either side (RFC 6238
§5.2's recommended skew); the step it matched is returned, so the store can accept each step
once and never an older one (§5.2: "the verifier MUST NOT accept the second attempt").
"""

from __future__ import annotations

import hmac
import io
import re
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
SKEW_STEPS = 1
# Apps show codes as "123 456"; people paste them with spaces.
# ASCII digits only: `\d` would take other scripts' digits too.
_CODE = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    """160 random bits in base32, RFC 4226 §4's recommended length."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The URI as a QR code in SVG, to scan from the screen: a standalone document (with its
    namespace, without an XML declaration), so it shows as an image as well as inline."""
    import segno  # only enrolments draw a code: a worker that serves none never loads it

    document = io.BytesIO()
    segno.make(uri, error="m").save(document, kind="svg", scale=4, xmldecl=False, nl=False)
    return document.getvalue().decode()


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, *, at: datetime) -> int | None:
    """The time step within the allowed skew whose code `code` is; None for any other input."""
    code = code.replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    otp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = time_step(at)
    # Newest first: when two steps share a code, the later one leaves less to replay.
    for step in range(now + SKEW_STEPS, now - SKEW_STEPS - 1, -1):
        if hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at `at` (for the tests and the demo's clock)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(time_step(at))
