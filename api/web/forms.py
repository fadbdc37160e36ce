"""The treasurer's forms: one spec per write, shown and submitted the same way.

A form is validated by the API's own request model and recorded by the API's own route
function, so a page can never accept what the API refuses nor record it differently. Each
rendered form carries a fresh client id: submitting it twice records once (the ledger
answers the repeat from its receipt). Bad input re-shows the form with what was typed,
the reason beside the field, and nothing recorded.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ValidationError

from api.problems import error_message, http_problem, problem_for
from api.web.labels import label
from api.web.render import PageRoute, format_money, lang_of, page, redirect
from api.web.session import PostedForm, TreasurerSession
from ledger.domain.errors import IdConflict, InvalidInput, LedgerError
from ledger.statements.formatting import Lang


@dataclass(frozen=True)
class Field:
    """One input of a form. `kind`: text, textarea, amount, date, select, checkbox, email.
    An amount's currency is the form's `currency` unless `currency_field` names a select."""

    name: str
    kind: str = "text"
    required: bool = True
    hint: str = ""
    currency_field: str = ""


@dataclass
class Context:
    """What a form knows while it is shown or submitted: the request, its path's values,
    the app's runtime and the session's principal, and what `prepare` looked up."""

    request: Request
    params: dict[str, Any]
    runtime: Any
    session: Any
    currency: str = "VND"
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    #: what the form's page shows beside it: (label key, text or money object)
    facts: list[tuple[str, Any]] = field(default_factory=list)
    #: what `prepare` looked up for `body` and `done` (e.g. each fund's currency)
    found: dict[str, Any] = field(default_factory=dict)

    def t(self, key: str) -> str:
        """A label in the reader's language."""
        return label(key, lang_of(self.request))

    def money(self, value: Mapping[str, str]) -> str:
        """An amount as the reader's language writes it."""
        return format_money(value, lang_of(self.request))


@dataclass(frozen=True)
class FormSpec:
    """A write as a form: its fields, how they make the API's request body, which API
    route records it, and where the browser goes once it is recorded."""

    title: str
    fields: tuple[Field, ...]
    model: type[BaseModel]
    body: Callable[[dict[str, str], Context], dict[str, Any]]
    route: Callable[..., Any]
    done: Callable[[dict[str, Any], Context], str]
    prepare: Callable[[Context], Any] = lambda ctx: None
    submit: str = "record"


def _clean(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def or_none(value: str) -> str | None:
    return value or None


def money_in(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def call_route(route: Callable[..., Any], ctx: Context, body: BaseModel) -> dict[str, Any]:
    """Calls an API route function with what FastAPI would have given it: the path's
    values, the validated body, the principal and the runtime's ledger, read models and
    waits. It answers once the read models reflect the write, as the API does."""
    runtime = ctx.runtime
    given: dict[str, Any] = {
        **ctx.params, "body": body, "principal": ctx.session.principal,
        "settings": runtime.settings, "response": Response(),
    }
    lazy = {"ledger": lambda: runtime.ledger, "views": lambda: runtime.read_models,
            "visible": lambda: runtime.visibility, "donations": lambda: runtime.donations}
    arguments = {}
    for name in inspect.signature(route).parameters:
        arguments[name] = given[name] if name in given else lazy[name]()
    if inspect.iscoroutinefunction(route):  # this runs in a worker thread of the loop's
        return anyio.from_thread.run(functools.partial(route, **arguments))
    return route(**arguments)


def _message(error: Mapping[str, Any], f: Field | None, lang: Lang) -> str:
    kind = error.get("type", "")
    if kind in ("missing", "string_too_short"):
        return label("err_required", lang)
    if f is not None and f.kind == "amount" and kind == "string_pattern_mismatch":
        return label("err_amount", lang)
    if error.get("loc", ())[:1] == ("id",):
        return label("err_form_id", lang)
    if kind.startswith("uuid"):
        return label("err_choose", lang)
    return error_message(error)


def field_errors(exc: ValidationError, spec: FormSpec, ctx: Context,
                 values: dict[str, str]) -> dict[str, str]:
    """Each validation error of the API's model, on the form field it came from (the
    form names nested fields `outer_inner`, e.g. `recipient_name`); others on the form.
    A required field left empty says so, whatever the model found wrong with it."""
    names = {f.name: f for f in spec.fields}
    lang = lang_of(ctx.request)
    errors = {f.name: label("err_required", lang)
              for f in spec.fields if f.required and not values[f.name]}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = next((n for n in ("_".join(loc[:2]), loc[0] if loc else "") if n in names),
                    "")
        message = _message(error, names.get(name), lang)
        if len(loc) > 1 and loc[1].isdigit():  # an item of a list: say which line
            message = f"{label('line', lang, n=int(loc[1]) + 1)}: {message}"
        errors.setdefault(name, message)
    return errors


def _show(spec: FormSpec, ctx: Context, values: dict[str, str], errors: dict[str, str],
          write_id: str, status: int = 200) -> Response:
    return page(
        ctx.request, "form.html", status, spec=spec, ctx=ctx, values=values, errors=errors,
        write_id=write_id,
    )


def _context(request: Request, session: Any) -> Context:
    params: dict[str, Any] = dict(request.path_params)
    for name, value in params.items():
        if name.endswith("_id"):  # as the API's routes take them: UUIDs, or not found
            try:
                params[name] = uuid.UUID(value)
            except ValueError:
                raise http_problem(404, f"no {name.removesuffix('_id')} {value}") from None
    return Context(request, params, request.app.state.runtime, session)


def add_form(router: APIRouter, path: str, spec: FormSpec) -> None:
    """Adds the form's page (GET) and its submission (POST) at `path`."""

    def show(request: Request, session: TreasurerSession) -> Response:
        ctx = _context(request, session)
        spec.prepare(ctx)
        values = {f.name: request.query_params.get(f.name) or ctx.defaults.get(f.name, "")
                  for f in spec.fields}
        return _show(spec, ctx, values, {}, str(uuid.uuid4()))

    def submit(request: Request, form: PostedForm, session: TreasurerSession) -> Response:
        ctx = _context(request, session)
        spec.prepare(ctx)
        values = {f.name: _clean(form.get(f.name)) for f in spec.fields}
        write_id = _clean(form.get("id"))
        try:
            body = spec.model.model_validate({**spec.body(values, ctx), "id": write_id})
            result = call_route(spec.route, ctx, body)
        except ValidationError as exc:
            return _show(spec, ctx, values, field_errors(exc, spec, ctx, values), write_id,
                         422)
        except LedgerError as error:
            problem = problem_for(error)
            name = getattr(error, "field", "")
            if isinstance(error, InvalidInput) and name in values:
                errors = {name: error.reason, "": problem.title}
            elif isinstance(error, IdConflict):
                # recorded before with other content (a form sent back after a change):
                # a new id, so that sending it again is a deliberate new write
                write_id = str(uuid.uuid4())
                errors = {"": label("err_resubmit", lang_of(request))}
            else:
                errors = {"": f"{problem.title}: {problem.detail}"}
            return _show(spec, ctx, values, errors, write_id, problem.status)
        return redirect(spec.done(result, ctx))

    router.add_api_route(path, show, methods=["GET"], name=f"{spec.title}_form")
    router.add_api_route(path, submit, methods=["POST"], name=f"{spec.title}_submit")


def new_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)
