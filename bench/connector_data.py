"""A generated community history for the connector's benchmark: real-looking asks on
several topics, members who help in some topics and ask in others, and paraphrased
asks (the same need in other words), so that a ranking has to generalize.

Everything is drawn from one seeded `random.Random`: the same arguments give the same
history. Members are `m0`, `m1`, …; the busiest helpers have the lowest numbers among
the helpers of each topic only by chance (activity is drawn, not ordered).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Topic:
    name: str
    interests: tuple[str, ...]  # how a member who helps here would list it
    # Each concept is one need, in the several ways people put it.
    concepts: tuple[tuple[str, ...], ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "python",
        ("python", "asyncio", "python packaging"),
        (
            ("asyncio event loop", "async await code", "coroutines"),
            ("pytest fixtures", "unit tests in pytest", "test fixtures"),
            ("virtualenv", "virtual environments", "venv setup"),
            ("type hints", "mypy errors", "static typing in python"),
            ("pandas dataframe", "dataframes", "pandas groupby"),
            ("profiling python", "py-spy profiler", "cProfile output"),
            ("packaging a library", "pyproject.toml", "publishing to PyPI"),
            ("python decorators", "decorator functions", "wrapping functions"),
            ("the GIL", "python threads", "multiprocessing pool"),
        ),
    ),
    Topic(
        "kubernetes",
        ("kubernetes", "k8s", "devops"),
        (
            ("pod keeps restarting", "CrashLoopBackOff", "container crash loop"),
            ("helm chart", "helm values", "helm templates"),
            ("kubectl", "kubectl apply", "kubectl port-forward"),
            ("ingress controller", "nginx ingress", "ingress TLS"),
            ("persistent volume", "PVC storage", "stateful sets"),
            ("cluster autoscaler", "node pools", "scaling nodes"),
            ("k8s secrets", "kubernetes secrets", "sealed secrets"),
            ("liveness probe", "readiness probes", "health checks in k8s"),
        ),
    ),
    Topic(
        "public speaking",
        ("public speaking", "presentations", "talks"),
        (
            ("stage fright", "nerves before a talk", "being nervous presenting"),
            ("conference talk proposal", "CFP abstract", "submitting a talk"),
            ("slides design", "slide decks", "presentation slides"),
            ("keynote rehearsal", "practicing a talk", "rehearsing a presentation"),
            ("Q&A after a talk", "audience questions", "handling tough questions"),
            ("storytelling in talks", "opening a presentation", "a strong talk opening"),
        ),
    ),
    Topic(
        "sales",
        ("sales", "negotiation", "b2b sales"),
        (
            ("cold outreach", "cold emails to prospects", "prospecting emails"),
            ("discovery call", "discovery questions", "first sales call"),
            ("pricing objection", "customer says too expensive", "discount requests"),
            ("closing a deal", "procurement stalls the deal", "getting a signature"),
            ("sales pipeline", "CRM pipeline stages", "forecasting deals"),
            ("contract negotiation", "negotiating terms", "renewal negotiation"),
        ),
    ),
    Topic(
        "sql",
        ("sql", "postgresql", "databases"),
        (
            ("slow query", "query plan", "EXPLAIN ANALYZE"),
            ("postgres index", "btree index", "missing index"),
            ("database migrations", "schema migration", "alembic migration"),
            ("window functions", "ROW_NUMBER over partition", "running totals in SQL"),
            ("deadlocks", "lock timeouts", "transactions blocking"),
            ("json columns", "jsonb queries", "querying json in postgres"),
            ("database backups", "point in time recovery", "pg_dump restore"),
        ),
    ),
    Topic(
        "frontend",
        ("react", "frontend", "css"),
        (
            ("react hooks", "useEffect", "custom hooks"),
            ("state management", "redux store", "react context"),
            ("css grid", "flexbox layout", "responsive layout"),
            ("webpack config", "vite build", "bundle size"),
            ("typescript generics", "typescript types for props", "tsconfig"),
            ("accessibility", "screen readers", "aria labels"),
            ("react rerenders", "memoization", "useMemo"),
        ),
    ),
    Topic(
        "hiring",
        ("hiring", "interviewing", "recruiting"),
        (
            ("interview loop", "interview process", "structured interviews"),
            ("take-home assignment", "coding exercise for candidates", "take home test"),
            ("job description", "writing a job ad", "job posting"),
            ("offer negotiation", "salary bands", "candidate counteroffer"),
            ("sourcing candidates", "recruiting pipeline", "finding engineers to hire"),
            ("onboarding new hires", "first week plan", "new joiner onboarding"),
        ),
    ),
    Topic(
        "design",
        ("design", "figma", "ux research"),
        (
            ("figma components", "figma auto layout", "design system in figma"),
            ("user interviews", "usability testing", "research sessions"),
            ("wireframes", "low fidelity mockups", "prototyping"),
            ("color palette", "typography scale", "visual hierarchy"),
            ("design critique", "feedback on designs", "design review"),
            ("icon set", "illustrations", "brand assets"),
        ),
    ),
    Topic(
        "machine learning",
        ("machine learning", "ml", "data science"),
        (
            ("overfitting", "validation loss going up", "regularization"),
            ("feature engineering", "feature selection", "encoding categorical features"),
            ("scikit-learn pipeline", "sklearn model", "cross validation"),
            ("fine-tuning a model", "transfer learning", "training a classifier"),
            ("imbalanced classes", "class weights", "oversampling"),
            ("model evaluation", "precision and recall", "ROC curve"),
            ("embeddings", "vector search", "similarity search"),
        ),
    ),
    Topic(
        "finance",
        ("finance", "accounting", "budgeting"),
        (
            ("quarterly budget", "budget planning", "departmental budget"),
            ("invoices", "invoicing a client", "unpaid invoices"),
            ("expense reports", "reimbursing expenses", "expense policy"),
            ("VAT", "sales tax", "tax filing"),
            ("cash flow forecast", "runway", "burn rate"),
            ("bookkeeping", "reconciling accounts", "month end close"),
        ),
    ),
    Topic(
        "marketing",
        ("marketing", "seo", "content marketing"),
        (
            ("SEO keywords", "ranking on google", "search rankings"),
            ("newsletter", "email campaign", "mailing list open rates"),
            ("landing page", "conversion rate", "signup page copy"),
            ("social media posts", "linkedin posts", "twitter threads"),
            ("blog post ideas", "content calendar", "editorial plan"),
            ("paid ads", "google ads budget", "ad campaign"),
        ),
    ),
    Topic(
        "security",
        ("security", "appsec", "infosec"),
        (
            ("oauth flow", "OAuth tokens", "openid connect login"),
            ("SQL injection", "input sanitizing", "injection attacks"),
            ("password hashing", "bcrypt", "argon2 hashes"),
            ("TLS certificates", "lets encrypt certs", "https certificate"),
            ("security audit", "penetration test", "threat model"),
            ("secrets in git", "leaked API key", "rotating credentials"),
        ),
    ),
)

TEMPLATES = (
    "How do I deal with {c}?",
    "Anyone know a good way to handle {c}?",
    "Struggling with {c} — any tips?",
    "What's the best practice for {c}?",
    "Can someone help me understand {c}?",
    "I'm stuck on {c}. Where do I start?",
    "Has anyone dealt with {c} before? Would love a pointer.",
    "Looking for advice on {c} for our team",
    "Quick question about {c}: what worked for you?",
    "Need a second pair of eyes on {c}",
    "Any recommended resources on {c}?",
    "We keep running into {c}. How do others do it?",
)
TWO_CONCEPTS = (
    "How do I handle {c} together with {d}?",
    "Question on {c} and {d}",
    "{c} vs {d} — which should I focus on first?",
)
NOISE_WORDS = (
    "this week",
    "for a side project",
    "at work",
    "for a client",
    "before Friday",
    "in our startup",
    "as a beginner",
)

START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class AskFact:
    number: int
    asker: str
    text: str
    topic: int
    created_at: datetime
    helpers: tuple[str, ...]  # confirmed gives, in order
    offerers: tuple[str, ...]  # offered, never confirmed


@dataclass
class History:
    members: int
    asks: list[AskFact]
    expertise: dict[str, tuple[int, ...]]  # helper → topics
    interests: dict[str, tuple[str, ...]]  # member → declared topics
    thanks: list[tuple[str, str, datetime]] = field(default_factory=list)  # no ask
    activity: dict[str, float] = field(default_factory=dict)  # helper → how much they help


def ask_text(rng: random.Random, topic: Topic) -> str:
    """One ask on `topic`: a concept in one of its phrasings, in one of many shapes."""
    concept = rng.choice(topic.concepts)
    phrase = rng.choice(concept)
    if rng.random() < 0.25:
        other = rng.choice([c for c in topic.concepts if c is not concept])
        text = rng.choice(TWO_CONCEPTS).format(c=phrase, d=rng.choice(other))
    else:
        text = rng.choice(TEMPLATES).format(c=phrase)
    if rng.random() < 0.3:
        text = f"{text.rstrip('?.')} {rng.choice(NOISE_WORDS)}?"
    return text[0].upper() + text[1:]


def generate(
    members: int,
    asks: int,
    *,
    seed: int = 7,
    days: int = 365,
    helper_share: float = 0.2,
    on_topic: float = 0.8,
    interest_share: float = 0.4,
    thanks: int = 0,
    start: datetime = START,
) -> History:
    """`asks` asks over `days` days by `members` members. A `helper_share` of members
    help, each in one or two topics, with a heavy-tailed activity; an ask is helped by
    an expert of its topic with probability `on_topic`, else by any helper (the busy
    ones most), and sometimes also gets an offer that was never confirmed. An
    `interest_share` of helpers list interests: mostly their own topics, sometimes
    one they never helped with. `thanks` more confirmed gives carry no ask."""
    rng = random.Random(seed)
    ids = [f"m{i}" for i in range(members)]
    helpers = rng.sample(ids, max(3, int(members * helper_share)))
    expertise: dict[str, tuple[int, ...]] = {}
    for h in helpers:
        count = 1 if rng.random() < 0.6 else 2
        expertise[h] = tuple(rng.sample(range(len(TOPICS)), count))
    activity = {h: rng.paretovariate(1.2) for h in helpers}
    experts: dict[int, list[str]] = {t: [] for t in range(len(TOPICS))}
    for h, topics in expertise.items():
        for t in topics:
            experts[t].append(h)
    weights = {t: [activity[h] for h in hs] for t, hs in experts.items()}
    all_weights = [activity[h] for h in helpers]
    interests: dict[str, tuple[str, ...]] = {}
    for h in helpers:
        if rng.random() < interest_share:
            listed = [rng.choice(TOPICS[t].interests) for t in expertise[h]]
            if rng.random() < 0.2:
                listed.append(rng.choice(rng.choice(TOPICS).interests))
            interests[h] = tuple(dict.fromkeys(listed))

    def pick_helper(topic: int, asker: str) -> str:
        for _ in range(20):
            if experts[topic] and rng.random() < on_topic:
                h = rng.choices(experts[topic], weights[topic])[0]
            else:
                h = rng.choices(helpers, all_weights)[0]
            if h != asker:
                return h
        return next(h for h in helpers if h != asker)

    span = timedelta(days=days)
    facts: list[AskFact] = []
    for n in range(1, asks + 1):
        topic = rng.randrange(len(TOPICS))
        asker = rng.choice(ids)
        while asker in expertise and topic in expertise[asker]:
            asker = rng.choice(ids)  # people ask outside what they know
        created = start + span * (n / (asks + 1))
        found: list[str] = []
        if rng.random() < 0.85:
            found.append(pick_helper(topic, asker))
            if rng.random() < 0.15:
                found.append(pick_helper(topic, asker))
        helped = tuple(dict.fromkeys(found))
        offered: tuple[str, ...] = ()
        if rng.random() < 0.3:
            extra = pick_helper(topic, asker)
            offered = () if extra in helped else (extra,)
        facts.append(
            AskFact(n, asker, ask_text(rng, TOPICS[topic]), topic, created, helped, offered)
        )
    thanks_given = [
        (rng.choices(helpers, all_weights)[0], rng.choice(ids), start + span * rng.random())
        for _ in range(thanks)
    ]
    return History(members, facts, expertise, interests, thanks_given, activity)


def member_ids(history: History) -> Iterator[str]:
    return (f"m{i}" for i in range(history.members))


def topic_of(text: str) -> int | None:
    """The topic whose phrasings a generated text uses (for the simulated replies)."""
    lowered = text.lower()
    for n, topic in enumerate(TOPICS):
        if any(p.lower() in lowered for concept in topic.concepts for p in concept):
            return n
    return None
