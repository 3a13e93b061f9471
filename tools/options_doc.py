"""Write docs/options.md from the OPTIONS table of pytest_rft/plugin/options.py.

    python tools/options_doc.py

tests/examples/test_docs.py fails, naming this command, when the page differs from the table.
"""

from pathlib import Path

from pytest_rft.plugin.options import options_page

PAGE = Path(__file__).resolve().parent.parent / "docs" / "options.md"

if __name__ == "__main__":
    PAGE.write_text(options_page(), encoding="utf-8")
    print(f"wrote {PAGE}")
