"""A console form works without script: a signed-in person's page carries the session's CSRF
token in its fields (htmx sends it in a header; a plain form posts the field)."""

from __future__ import annotations

import re

from fastapi import FastAPI

from service.auth.permissions import Role
from tests.service.tasks.test_tasks_first_use import World, world
from tests.service.users.helpers import browser, enrol, make_person

__all__ = ["world"]


async def test_a_plain_form_posts_the_session_s_csrf_token(app: FastAPI, world: World) -> None:
    task = await world.task(world.embassy)
    person = await make_person(app, world.embassy, Role.CONSULAR_OFFICER)
    async with browser(app) as client:
        signed = await enrol(client, person)
        page = await client.get(f"/console/tasks/{task['id']}")
        assert page.status_code == 200, page.text
        fields = set(re.findall(r'name="csrf_token" value="([^"]*)"', page.text))
        assert fields == {signed.csrf}
        done = await client.post(
            f"/console/tasks/{task['id']}/status",
            data={"status": "acknowledged", "version": "1", "csrf_token": signed.csrf},
        )
        assert done.status_code == 303, done.text
