"""The rules: what each one sends through the proxy, how it is judged, and where the rule comes from."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from atm_tui.check.probe import Options, Probe, Step, same_body
from atm_tui.check.proxy import Fault

PASS, FAIL, INFO, SKIP = "pass", "fail", "info", "skip"

STRIPE = "Stripe API: idempotent requests"
IETF = "IETF draft-ietf-httpapi-idempotency-key-header"
BRANDUR = "Brandur Leach: Implementing Stripe-like Idempotency Keys in Postgres"
CHECKOUT = "Checkout.com API: idempotency keys"
LESSON = "the lesson: exactly-once effect = at-least-once delivery + idempotent processing"


@dataclass(slots=True)
class Verdict:
    """One rule's result: `verdict` is pass, fail, info (a policy, reported not judged) or skip."""

    rule: str
    title: str
    verdict: str
    evidence: str
    source: str
    required: bool = True
    steps: list[Step] = field(default_factory=list)
    effects: int | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


Rule = Callable[[Probe, Options], Awaitable[list[Verdict]]]


def ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def effects_word(n: int | None) -> str:
    if n is None:
        return "effects not measured (give --effect)"
    return f"{n} effect" + ("" if n == 1 else "s")


async def _ready(p: Probe, rule: str, title: str, source: str, required: bool = True) -> Verdict | None:
    """A skip verdict when the baseline found no working request to build on."""
    if p.unit == 0.0:
        return Verdict(rule, title, SKIP, "the baseline request did not work; fix that first", source,
                       required)
    return None


def _replay_evidence(first_status: int, first_body: bytes, retry: Step) -> tuple[bool, str]:
    if retry.status is None:
        return False, f"the retry got no answer ({retry.seen})"
    same = retry.status == first_status and same_body(first_body, retry.content)
    if same:
        replayed = retry.headers.get("idempotent-replayed")
        mark = f" (Idempotent-Replayed: {replayed})" if replayed else ""
        return True, f"the retry got the same {retry.status} and body{mark}"
    if retry.status != first_status:
        return False, f"the retry got {retry.status}, the first answer was {first_status}"
    differs = body_difference(first_body, retry.content)
    return False, f"the retry got {retry.status} with another body ({differs})"


def body_difference(a: bytes, b: bytes) -> str:
    """Where two answers differ, shortly: the JSON fields that changed, or the first bytes."""
    try:
        da, db = json.loads(a), json.loads(b)
    except ValueError:
        return f"{b[:60]!r} instead of {a[:60]!r}"
    if isinstance(da, dict) and isinstance(db, dict):
        keys = sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))
        return ", ".join(f"{k} {json.dumps(db.get(k))} instead of {json.dumps(da.get(k))}" for k in keys[:3])
    return f"{json.dumps(db)[:60]} instead of {json.dumps(da)[:60]}"


async def baseline(p: Probe, o: Options) -> list[Verdict]:
    """One plain request, one effect: and the size of one effect, which every count below uses."""
    title = "a plain request works and has one effect"
    before = await p.effect()
    step = await p.send("request", p.key("baseline"), p.target.body_for(p.number()))
    await p.settle()
    after = await p.effect()
    if not ok(step.status):
        p.unit = 0.0
        said = step.content[:160].decode("utf-8", "replace")
        return [Verdict("baseline", title, FAIL, f"answered {step.seen}, not 2xx: check --path, --method and"
                        f" --body; body: {said}", LESSON, steps=[step])]
    if before is None or after is None:
        return [Verdict("baseline", title, PASS, f"answered {step.status}; {effects_word(None)}",
                        LESSON, steps=[step])]
    if after == before:
        p.unit = 0.0
        return [Verdict("baseline", title, FAIL, f"answered {step.status} but the number at"
                        f" {p.target.effect_pointer or '/'} stayed {before:g}: point --effect at a number"
                        " the request changes", LESSON, steps=[step])]
    p.unit = after - before
    return [Verdict("baseline", title, PASS, f"answered {step.status}; one effect moves the number by"
                    f" {p.unit:+g} ({before:g} -> {after:g})", LESSON, steps=[step], effects=1)]


async def replay_after_lost_reply(p: Probe, o: Options) -> list[Verdict]:
    rule = "replay-after-lost-reply"
    title = "a retry after a lost reply gets the stored answer, no new effect"
    source = f"{STRIPE}; {IETF}; {BRANDUR}"
    if (skip := await _ready(p, rule, title, source)) is not None:
        return [skip]
    key, body = p.key("lost-reply"), p.target.body_for(p.number())
    before = await p.effect()
    first = await p.send("first attempt", key, body, Fault("drop-response"))
    retry = await p.send("retry, same key and body", key, body)
    await p.settle()
    n = p.count(before, await p.effect())
    answer = first.exchange.answers[0] if first.exchange and first.exchange.answers else None
    steps = [first, retry]
    if answer is None or not ok(answer.status):
        seen = answer.status if answer else "nothing"
        return [Verdict(rule, title, FAIL, f"the first attempt was answered {seen}, not 2xx", source,
                        steps=steps, effects=n)]
    same, said = _replay_evidence(answer.status, answer.body, retry)
    good = same and n in (1, None)
    evidence = (f"first answered {answer.status} (reply dropped, client: {first.seen}); {said};"
                f" {effects_word(n)}")
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=steps, effects=n)]


async def retry_after_lost_request(p: Probe, o: Options) -> list[Verdict]:
    rule, title = "retry-after-lost-request", "a retry after a lost request is processed once"
    source = f"{IETF}; {LESSON}"
    if (skip := await _ready(p, rule, title, source)) is not None:
        return [skip]
    key, body = p.key("lost-request"), p.target.body_for(p.number())
    before = await p.effect()
    first = await p.send("first attempt", key, body, Fault("drop-request"))
    retry = await p.send("retry, same key and body", key, body)
    await p.settle()
    n = p.count(before, await p.effect())
    good = ok(retry.status) and n in (1, None)
    evidence = f"the request was lost (client: {first.seen}); the retry got {retry.seen}; {effects_word(n)}"
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=[first, retry], effects=n)]


async def duplicate_one_effect(p: Probe, o: Options) -> list[Verdict]:
    rule, title = "duplicate-one-effect", "a request delivered twice has one effect"
    source = f"{STRIPE}; {LESSON}"
    if (skip := await _ready(p, rule, title, source)) is not None:
        return [skip]
    key, body = p.key("duplicate"), p.target.body_for(p.number())
    before = await p.effect()
    step = await p.send("one request, delivered twice", key, body, Fault("duplicate"))
    await p.settle()
    n = p.count(before, await p.effect())
    statuses = [a.status for a in step.exchange.answers] if step.exchange else []
    good = ok(step.status) and n in (1, None) and not any(s >= 500 for s in statuses)
    evidence = f"the target answered {' then '.join(map(str, statuses))}; {effects_word(n)}"
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=[step], effects=n)]


async def late_original(p: Probe, o: Options) -> list[Verdict]:
    rule, title = "late-original-one-effect", "an original that arrives after its retry has no second effect"
    source = f"{STRIPE}; {LESSON}"
    if (skip := await _ready(p, rule, title, source)) is not None:
        return [skip]
    key, body = p.key("late"), p.target.body_for(p.number())
    delay = int(max(400.0, 4 * p.latency_ms))
    before = await p.effect()
    first = await p.send("first attempt (held in the network)", key, body, Fault("delay", delay_ms=delay),
                         timeout_s=delay / 4000)
    retry = await p.send("retry after the client's timeout", key, body)
    await p.settle()  # the held original now reaches the target
    n = p.count(before, await p.effect())
    late = first.exchange.answers[0].status if first.exchange and first.exchange.answers else 0
    # The late original's own answer is reported, not judged: if it lands while the retry is still
    # in flight it meets the concurrency case, which the concurrent rules judge.
    good = ok(retry.status) and n in (1, None)
    evidence = (f"client timed out after {delay // 4} ms; the retry got {retry.seen}; the original arrived"
                f" {delay} ms late and got {late or 'no answer'}; {effects_word(n)}")
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=[first, retry], effects=n)]


async def concurrent(p: Probe, o: Options) -> list[Verdict]:
    title_e = f"{o.copies} same-key requests at once have one effect"
    title_s = "while one is in flight the others get 409 with Retry-After (or the replay), never 5xx"
    source_e, source_s = f"{BRANDUR}; {LESSON}", f"{IETF}; {STRIPE}"
    skip_e = await _ready(p, "concurrent-one-effect", title_e, source_e)
    skip_s = await _ready(p, "concurrent-409", title_s, source_s)
    if skip_e is not None and skip_s is not None:
        return [skip_e, skip_s]
    key, body = p.key("concurrent"), p.target.body_for(p.number())
    before = await p.effect()
    step = await p.send(f"{o.copies} copies at once", key, body, Fault("copies", copies=o.copies))
    await p.settle()
    n = p.count(before, await p.effect())
    answers = step.exchange.answers if step.exchange else []
    statuses = [a.status for a in answers]
    shown = ", ".join(str(s) if s else "no answer" for s in statuses)
    good_e = any(ok(s) for s in statuses) and n in (1, None)
    bad = [s for s in statuses if not (ok(s) or s == 409)]
    no_retry_after = sum(1 for a in answers if a.status == 409 and a.header("retry-after") is None)
    problems = []
    if bad:
        problems.append(f"{len(bad)} answered {', '.join(sorted({str(s) for s in bad}))}")
    if no_retry_after:
        problems.append(f"{no_retry_after} 409 without Retry-After")
    if not any(ok(s) for s in statuses):
        problems.append("none succeeded")
    said = "; ".join(problems) if problems else "only success and 409" + (
        " (each with Retry-After)" if 409 in statuses else "")
    return [
        Verdict("concurrent-one-effect", title_e, PASS if good_e else FAIL,
                f"answers: {shown}; {effects_word(n)}", source_e, steps=[step], effects=n),
        Verdict("concurrent-409", title_s, FAIL if problems else PASS, f"answers: {shown}; {said}", source_s,
                steps=[step]),
    ]


async def mismatch(p: Probe, o: Options) -> list[Verdict]:
    wanted = " or ".join(map(str, p.target.mismatch_status))
    rule, title = "mismatch-refused", f"the same key with another body is refused ({wanted}), no effect"
    source = f"{IETF}; {STRIPE}"
    if (skip := await _ready(p, rule, title, source)) is not None:
        return [skip]
    n_value = p.number()
    key, body, other = p.key("mismatch"), p.target.body_for(n_value), p.target.other_for(n_value)
    if other is None or other == body:
        return [Verdict(rule, title, SKIP, "no second body to send: give --other-body", source,
                        required=False)]
    start = await p.effect()
    first = await p.send("first request", key, body)
    await p.settle()
    before = await p.effect()
    second = await p.send("same key, another body", key, other)
    await p.settle()
    moved = await p.effect()
    n = p.count(start, moved)
    still = before is None or moved == before
    good = ok(first.status) and second.status in p.target.mismatch_status and still
    change = "" if before is None or moved is None else (
        " and the number did not move" if still else f" and the number moved {before:g} -> {moved:g}:"
        " it was processed")
    evidence = f"first {first.seen}; another body with that key got {second.seen}{change}"
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=[first, second], effects=n)]


async def missing_key(p: Probe, o: Options) -> list[Verdict]:
    optional = p.target.key_optional
    rule = "missing-key-400"
    title = "a request without the key is refused with 400"
    title += " (keys optional: reported)" if optional else ""
    source = IETF
    if (skip := await _ready(p, rule, title, source, not optional)) is not None:
        return [skip]
    before = await p.effect()
    step = await p.send(f"no {p.target.key_header} header", None, p.target.body_for(p.number()), keyless=True)
    await p.settle()
    n = p.count(before, await p.effect())
    evidence = f"answered {step.seen}; {effects_word(n)}"
    if optional:
        return [Verdict(rule, title, INFO, evidence, source, required=False, steps=[step], effects=n)]
    good = step.status == 400 and n in (0, None)
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=[step], effects=n)]


async def decline_policy(p: Probe, o: Options) -> list[Verdict]:
    rule, title = "decline-policy", "what a final error does to its key: stored and replayed, or not kept"
    source = f"{STRIPE} (errors replayed); {CHECKOUT} (only successes kept)"
    if (skip := await _ready(p, rule, title, source, False)) is not None:
        return [skip]
    decline = p.target.decline_body
    if decline is None:
        return [Verdict(rule, title, SKIP, "give --decline-body, a body the server refuses for good",
                        source, required=False)]
    n_value = p.number()
    key = p.key("decline")
    before = await p.effect()
    first = await p.send("a request the server declines", key, p.target.body_for(n_value, decline))
    again = await p.send("the same again", key, p.target.body_for(n_value, decline))
    fixed = await p.send("same key, a body that would succeed", key, p.target.body_for(p.number()))
    await p.settle()
    n = p.count(before, await p.effect())
    steps = [first, again, fixed]
    if first.status is None or not 400 <= first.status < 500 or first.status in (409, 429):
        return [Verdict(rule, title, INFO, f"the decline body was answered {first.seen}, not a final 4xx;"
                        " nothing to learn", source, required=False, steps=steps, effects=n)]
    replay = again.status == first.status and same_body(first.content, again.content)
    if ok(fixed.status):
        policy = "not kept (as Checkout.com: only successes are stored; a later success with that key runs)"
    else:
        policy = f"stored (as Stripe: the key keeps its first answer; a later body got {fixed.seen})"
    evidence = (f"declined {first.status}; sent again: {again.seen}{' (same body)' if replay else ''};"
                f" policy: {policy}; {effects_word(n)}")
    return [Verdict(rule, title, INFO, evidence, source, required=False, steps=steps, effects=n)]


async def restart_keeps_key(p: Probe, o: Options) -> list[Verdict]:
    rule, title = "restart-keeps-key", "a key survives a restart of the server"
    source = f"{BRANDUR}; {STRIPE}"
    if p.restart_cmd is None:
        return [Verdict(rule, title, SKIP, "give --restart-cmd to check it", source, required=False)]
    if (skip := await _ready(p, rule, title, source)) is not None:
        return [skip]
    key, body = p.key("restart"), p.target.body_for(p.number())
    before = await p.effect()
    first = await p.send("first attempt", key, body, Fault("drop-response"))
    await p.settle()
    problem = await p.restart()
    if problem:
        return [Verdict(rule, title, FAIL, problem, source, steps=[first])]
    retry = await p.send("retry after the restart", key, body)
    n = p.count(before, await p.effect())
    answer = first.exchange.answers[0] if first.exchange and first.exchange.answers else None
    if answer is None or not ok(answer.status):
        return [Verdict(rule, title, FAIL, f"the first attempt was answered {answer.status if answer else 0}",
                        source, steps=[first, retry], effects=n)]
    same, said = _replay_evidence(answer.status, answer.body, retry)
    good = same and n in (1, None)
    evidence = f"first answered {answer.status} (reply dropped); restarted; {said}; {effects_word(n)}"
    return [Verdict(rule, title, PASS if good else FAIL, evidence, source, steps=[first, retry], effects=n)]


async def key_expiry(p: Probe, o: Options) -> list[Verdict]:
    rule, title = "key-expiry", "how long a key is remembered (the draft asks servers to document it)"
    source = IETF
    if o.expiry_s is None:
        return [Verdict(rule, title, SKIP, "give --expiry-probe SECONDS to probe it", source, required=False)]
    if (skip := await _ready(p, rule, title, source, False)) is not None:
        return [skip]
    key, body = p.key("expiry"), p.target.body_for(p.number())
    before = await p.effect()
    first = await p.send("first request", key, body)
    await asyncio.sleep(o.expiry_s)
    retry = await p.send(f"the same {o.expiry_s:g} s later", key, body)
    n = p.count(before, await p.effect())
    if retry.status is not None and retry.status == first.status and same_body(first.content, retry.content) \
            and n in (1, None):
        said = f"still remembered after {o.expiry_s:g} s (replayed)"
    elif n == 2 or (ok(retry.status) and not same_body(first.content, retry.content)):
        said = f"forgotten within {o.expiry_s:g} s: processed again; a retry that late doubles the effect"
    else:
        said = f"after {o.expiry_s:g} s the same request got {retry.seen}"
    return [Verdict(rule, title, INFO, f"{said}; {effects_word(n)}", source, required=False,
                    steps=[first, retry], effects=n)]


RULES: list[Rule] = [baseline, replay_after_lost_reply, retry_after_lost_request, duplicate_one_effect,
                     late_original, concurrent, mismatch, missing_key, decline_policy, restart_keeps_key,
                     key_expiry]
# Each verdict's name -> the rule that produces it (the concurrency case gives two verdicts).
RULE_OF: dict[str, Rule] = {
    "baseline": baseline, "replay-after-lost-reply": replay_after_lost_reply,
    "retry-after-lost-request": retry_after_lost_request, "duplicate-one-effect": duplicate_one_effect,
    "late-original-one-effect": late_original, "concurrent-one-effect": concurrent,
    "concurrent-409": concurrent, "mismatch-refused": mismatch, "missing-key-400": missing_key,
    "decline-policy": decline_policy, "restart-keeps-key": restart_keeps_key, "key-expiry": key_expiry,
}
RULE_NAMES = tuple(RULE_OF)


def name_of(rule: Rule) -> str:
    """A rule's name as its verdicts spell it ("concurrent-one-effect + concurrent-409")."""
    return " + ".join(n for n, r in RULE_OF.items() if r is rule) or getattr(rule, "__name__", "rule")


def select(names: list[str]) -> list[Rule]:
    """The rules that give these verdicts, in the usual order, the baseline always first (it
    measures one effect for the others)."""
    wanted = {RULE_OF[n] for n in names} | {baseline}
    return [r for r in RULES if r in wanted]
