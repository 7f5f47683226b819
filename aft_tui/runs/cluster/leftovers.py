"""A cluster trial that a killed AFT left behind, found by its actor's name on a resume.

Ray ends the actors of a driver that dies (they are not detached), and each actor's guard then
kills its script, so usually there is nothing left. A resume still looks, when Ray is there to
ask: a trial must never train beside its own re-run.
"""

from __future__ import annotations

from typing import Any


def stop_remote(note: dict[str, Any]) -> str | None:
    """Kill the recorded trial's actor if it still lives; a sentence saying so, else None."""
    place = note.get("cluster") or {}
    name, namespace, address = place.get("actor"), place.get("namespace"), place.get("address")
    if not (isinstance(name, str) and isinstance(namespace, str) and isinstance(address, str)):
        return None
    try:
        from aft_tui.runs.cluster.connect import connect, import_ray

        connect(address)
        ray = import_ray()
    except Exception:  # no Ray here now, or no cluster: nothing can be asked, nothing can be running for us
        return None
    try:
        actor = ray.get_actor(name, namespace=namespace)
    except ValueError:
        return None  # gone: Ray ended it with the driver
    try:
        ray.kill(actor, no_restart=True)
    except Exception:
        return None
    return (f"Trial {note.get('number')} ({note.get('run_id')}) was still running on node {place.get('node_ip')} "
            "from the session that was killed; it was stopped, and it runs again.")
