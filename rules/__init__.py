"""The rule language: schema of a rule file, the YAML loader with file:line errors, and the engine.

Knows nothing of HTTP, feeds or the database: it takes typed events and returns decisions.

Modules (one responsibility each):
- `events`: what the engine is given (FigureEvent, ContractEvent, ArticleEvent, FeedEvent) and returns (Decision);
- `schema`: the pydantic models of a rule and the cross-field checks;
- `positions`: YAML parsing that keeps line/column for every node;
- `loader`: `load_rules(paths, channels, known_metrics, known_entities) -> LoadResult`, `fingerprint(paths)`;
- `ruleset`: a validated rule compiled for the engine (matcher, key, checker, where, templates);
- `triggers`: what each trigger checks;
- `expressions`: `where:` conditions in CEL;
- `templates`: Jinja2 subjects/messages and the default wording;
- `format`: numbers, periods and changes in words;
- `samples`: fully populated sample events (load-time checks of templates and CEL);
- `history`: the RuleHistory protocol and InMemoryHistory;
- `engine`: `RuleEngine(ruleset).evaluate(event, history, now)` and `.check_stale(events, history, now)`.
"""
