#!/usr/bin/env python3
"""What a user would write instead of instctl's reconcile (issue 12, make bench).

    pyreconcile.py SOCKET DATABASE default|sparse

Lists this store's containers with Debian's python3-docker
(containers.list(all=True), which inspects every container, or with
sparse=True, which does not), reads the instance rows with sqlite3, maps a
running row whose container exited to stopped and a stopped row whose
container runs to running (paused keeps the status), and writes the changes
in one transaction. Prints one line: containers, rows, changes.
"""
import sqlite3
import sys

import docker


def main():
    sock, db, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    conn = sqlite3.connect(db)
    uuid = conn.execute("SELECT uuid FROM store_meta").fetchone()[0]
    client = docker.DockerClient(base_url="unix://" + sock, version="1.41")
    containers = client.containers.list(
        all=True,
        sparse=(mode == "sparse"),
        filters={"label": ["io.instctl.managed=true", "io.instctl.store=" + uuid]},
    )
    state = {}
    for c in containers:
        if mode == "sparse":
            state[c.id] = c.attrs["State"]
        else:
            state[c.id] = c.attrs["State"]["Status"]
    rows = conn.execute(
        "SELECT id, status, container_id FROM instances WHERE status <> 'terminated'"
    ).fetchall()
    changes = []
    for rid, status, cid in rows:
        s = state.get(cid, "missing")
        if status == "running" and s in ("exited", "dead"):
            changes.append(("stopped", rid))
        elif status == "stopped" and s == "running":
            changes.append(("running", rid))
    with conn:
        conn.executemany("UPDATE instances SET status = ? WHERE id = ?", changes)
    print("python3-docker %s: %d containers, %d rows, %d changes"
          % (mode, len(containers), len(rows), len(changes)))


if __name__ == "__main__":
    main()
