"""Oracle suite setup. Helpers live in ``oracle.py`` (the evaluator) and ``oracle_apps.py`` (the apps);
each test module builds its synthesized apps once, in module-scoped fixtures."""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
