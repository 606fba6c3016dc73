#!/usr/bin/env python3
"""The consumer a user might write instead of driftwatch: confluent-kafka and json.loads.

usage: naive_consumer.py BOOTSTRAP TOPIC GROUP COUNT
Prints "naive-python: N records/s over S s" (first message to last, like the other two).
"""
import json
import sys
import time

from confluent_kafka import Consumer


def main():
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": True})
    c.subscribe([topic])
    seen = 0
    first = None
    last = None
    writes = 0
    deadline = time.monotonic() + 300
    while seen < count and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None and last is not None and time.monotonic() - last > 5:
            break  # idle after the first record: the rest is not coming
        if msg is None or msg.error():
            continue
        record = json.loads(msg.value())
        if not record.get("readOnly", False):
            writes += 1
        seen += 1
        if first is None:
            first = time.monotonic()
        last = time.monotonic()
    c.close()
    if seen < 2 or last <= first:
        print("naive-python: too few records", file=sys.stderr)
        return 1
    print("naive-python: %.0f records/s over %.3f s (%d writes)"
          % ((seen - 1) / (last - first), last - first, writes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
