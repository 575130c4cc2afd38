"""gtzcomposer models [--json]"""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("models", help="list the bundled models, their labels or styles, and their cards")
    p.add_argument("--json", action="store_true", help="print the model cards as a JSON list")
    p.set_defaults(func=run)


def load_cards() -> list[dict]:
    from ..ml.registry import all_cards

    return [card.to_dict() for card in all_cards()]


def run(args) -> int:
    cards = load_cards()
    if args.json:
        print(json.dumps(cards, indent=2))
        return 0
    if not cards:
        print("no bundled models found")
        return 0
    for c in cards:
        labels = c.get("labels") or c.get("styles") or []
        print(f"{c['name']}  v{c.get('version', '?')}  {c.get('task', '')}")
        if labels:
            print(f"  {'styles' if 'styles' in c else 'labels'}: {', '.join(labels)}")
        stand_ins = c.get("stand_ins") or {}
        if stand_ins:
            print("  genres without melody data of their own are written in a stand-in style:")
            for genre, v in stand_ins.items():
                print(f"    {genre} -> {v['style']} ({v.get('why', '')})")
        for key, value in (c.get("metrics") or {}).items():
            if isinstance(value, bool):
                print(f"  {key}: {'yes' if value else 'no'}")
            elif isinstance(value, (int, float)):
                print(f"  {key}: {value:.4g}")
    return 0
