"""The simulated world's event vocabulary: names, captions and one occurrence on a timeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENTS: tuple[str, ...] = ("glass_breaking", "dog_barking", "smoke_alarm", "footsteps",
                           "door_slamming", "person_falling", "machine_running", "quiet_room")

# The background class: what label_at reports when nothing else is active. It never has an
# occurrence of its own on a timeline.
QUIET = "quiet_room"

# Several plain phrasings per event, so text anchors are not tied to one wording.
CAPTIONS: dict[str, tuple[str, ...]] = {
    "glass_breaking": ("glass breaking", "a window shattering", "the sound of breaking glass",
                       "a pane of glass smashes", "shattered glass falling on the floor"),
    "dog_barking": ("a dog barking", "dog barks", "a barking dog in the room",
                    "a dog is barking loudly", "the sound of a dog barking"),
    "smoke_alarm": ("a smoke alarm beeping", "smoke alarm", "a fire alarm going off",
                    "smoke in the room and an alarm sounding", "the beeping of a smoke detector"),
    "footsteps": ("footsteps", "a person walking", "someone walking across the room",
                  "the sound of footsteps", "a person walks by"),
    "door_slamming": ("a door slamming", "door slams shut", "a door banging closed",
                      "the sound of a slamming door", "someone slams a door"),
    "person_falling": ("a person falling", "someone falls to the floor", "a person fell down",
                       "a person lying on the floor after a fall", "a human falling over"),
    "machine_running": ("a machine running", "machinery humming", "a running motor",
                        "the hum of an engine", "industrial machine noise"),
    "quiet_room": ("a quiet room", "an empty quiet room", "nothing happening", "silence",
                   "a calm room with background noise"),
}


# Other ordinary wordings of the same events, for measuring open-vocabulary zero-shot: none is a
# caption above, an example prompt (examples/prompts.toml) or a prompt the exporter calibrates
# the text tower with. Never train or tune on them.
HELDOUT_PHRASINGS: dict[str, tuple[str, ...]] = {
    "glass_breaking": ("a drinking glass smashing on tiles", "the crash of a broken bottle",
                       "crystal shattering into pieces", "a vase breaking", "splintering glass"),
    "dog_barking": ("a small dog yelping", "a hound howling and woofing", "the woof of a large dog",
                    "a pet dog growling and barking", "canine barking"),
    "smoke_alarm": ("a shrill alarm siren", "the fire detector chirping",
                    "an alarm warning of smoke", "a loud emergency beep", "the building's fire alarm"),
    "footsteps": ("someone pacing back and forth", "shoes tapping on the floor",
                  "a man strolling through the hall", "steps approaching", "a person striding past"),
    "door_slamming": ("a door being shut hard", "the bang of a closing door",
                      "someone closing the door with force", "a gate banging shut",
                      "a loud thud of a door"),
    "person_falling": ("an old man collapsing", "somebody tripping and hitting the ground",
                       "a woman stumbles and falls", "a person toppling over",
                       "a fall onto the floor"),
    "machine_running": ("a compressor whirring", "an electric motor droning", "the whine of a pump",
                        "a generator running", "a fan spinning loudly"),
    "quiet_room": ("an empty office at night", "stillness", "no activity at all",
                   "a room where nothing moves", "peace and quiet"),
}


def check_event(name: str) -> str:
    """Return ``name`` if it is a known event, else raise a ValueError listing the valid ones."""
    if name not in CAPTIONS:
        raise ValueError(f"unknown event {name!r}; expected one of {', '.join(EVENTS)}")
    return name


@dataclass
class EventOccurrence:
    """One event on the ground-truth timeline: active for ``t_start_ns <= t < t_end_ns``.

    ``params`` holds what the renderers need to draw, sound and shake it (position, scale,
    intensity, colours, a private seed); it is plain data so a timeline can be saved as JSON.
    """

    event: str
    t_start_ns: int
    t_end_ns: int
    caption: str
    params: dict[str, Any] = field(default_factory=dict)

    def active(self, t_ns: int) -> bool:
        return self.t_start_ns <= t_ns < self.t_end_ns

    def overlaps(self, t0_ns: int, t1_ns: int) -> bool:
        return self.t_start_ns < t1_ns and t0_ns < self.t_end_ns

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "t_start_ns": int(self.t_start_ns),
                "t_end_ns": int(self.t_end_ns), "caption": self.caption,
                "params": dict(self.params)}
