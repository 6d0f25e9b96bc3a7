"""Every playbook action says what to do: the validator refuses one that does not."""

from __future__ import annotations

import pytest

from playbooks.loader import load_library, validate_yaml

ACTION = """key: drill
title: A drill
version: 1
trigger:
  hazards: [any]
tasks:
  - key: call
    title: "Call the {nationality} workers in {country}"
    actor: embassy
    due: 2h
    basis: [MICIC Guideline 9]
"""


@pytest.mark.parametrize("description", [None, '""', '"   "', ">\n      \n"])
def test_an_action_without_a_description_is_refused(description: str | None) -> None:
    text = ACTION if description is None else ACTION + f"    description: {description}\n"
    playbook, issues = validate_yaml(text)
    assert playbook is None
    assert any(
        i.loc == ("tasks", 0, "description") and "say what to do" in i.msg for i in issues
    ), issues


def test_an_action_that_says_what_to_do_is_taken() -> None:
    playbook, issues = validate_yaml(ACTION + '    description: "Call each of them"\n')
    assert issues == [] and playbook is not None


def test_every_action_of_the_library_says_what_to_do() -> None:
    library = load_library()
    assert library
    for playbook in library:
        for task in playbook.tasks:
            assert len(task.description.split()) >= 8, (playbook.key, task.key)
