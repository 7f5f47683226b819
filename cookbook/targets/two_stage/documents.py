"""Synthetic computer-science articles with a reference summary and a 1-5 difficulty label.

Stands in for crawled blog posts, papers and news. Difficulty follows the rules the labelling
guide uses: the topic's conceptual level, plus one for code in the text, plus one for an advanced
passage dense with specialist terms, capped to 1-5. The glossary gives the explanation and
prerequisites reported for each technical term found in an article.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

DIFFICULTY_LABELS = {1: "beginner", 2: "elementary", 3: "intermediate", 4: "advanced", 5: "expert"}

GLOSSARY: dict[str, tuple[str, list[str]]] = {
    "Docker": ("a tool that packages an application with its dependencies", ["Linux basics"]),
    "container": ("an isolated process with its own filesystem", ["processes"]),
    "image": ("a read-only template a container starts from", ["filesystems"]),
    "REST": ("an architectural style for web APIs built on HTTP verbs", ["HTTP"]),
    "endpoint": ("a URL where an API accepts requests", ["HTTP"]),
    "idempotent": ("giving the same result when repeated", ["HTTP"]),
    "def": ("the Python keyword that defines a function", ["Python basics"]),
    "decorator": ("a function that wraps another function", ["Python functions"]),
    "closure": ("a function that remembers variables from its scope", ["Python functions"]),
    "import": ("the Python keyword that loads a module", ["Python basics"]),
    "cache": ("fast storage that keeps recent results", ["memory hierarchy"]),
    "latency": ("the time one request takes", ["networking"]),
    "eviction": ("removing entries when a cache is full", ["data structures"]),
    "index": ("a structure that speeds up lookups in a table", ["SQL"]),
    "query": ("a request for data from a database", ["SQL"]),
    "middleware": ("software that connects services and passes messages", ["networking"]),
    "queue": ("a buffer that delivers messages in order", ["data structures"]),
    "throughput": ("the amount of work done per second", ["performance basics"]),
    "microservice": ("a small service that owns one business capability", ["REST"]),
    "Kubernetes": ("a system that runs containers across a cluster", ["Docker", "networking"]),
    "orchestration": ("automatic placement and management of workloads", ["containers"]),
    "pod": ("the smallest deployable unit in Kubernetes", ["containers"]),
    "async": ("code that waits for I/O without blocking a thread", ["Python functions"]),
    "mutex": ("a lock that lets one thread in at a time", ["threads"]),
    "deadlock": ("threads waiting on each other forever", ["threads"]),
    "gradient": ("the direction in which a function grows fastest", ["calculus"]),
    "optimization": ("searching for parameters that minimise a loss", ["calculus"]),
    "transformer": ("a neural network built on attention", ["linear algebra", "neural networks"]),
    "attention": ("weighting inputs by their relevance to each other", ["linear algebra"]),
    "embedding": ("a vector that represents a token or item", ["linear algebra"]),
    "diffusion": ("a model that learns to reverse gradual noising", ["probability", "neural networks"]),
    "anomaly": ("a data point unlike the rest", ["statistics"]),
}


@dataclass(frozen=True)
class Topic:
    name: str
    level: int
    intro: str
    core: str                              # the summary's fixed part
    details: tuple[tuple[str, str], ...]   # (sentence in the article, phrase in the summary)
    advanced: str
    code: str


TOPICS = (
    Topic("Docker", 1, "Docker packages an application and its libraries into an image.",
          "packages applications into container images",
          (("A container starts from an image in less than a second.", "starts containers quickly"),
           ("Each container has its own filesystem and network.", "isolates each container"),
           ("Images are built in layers that are cached between builds.", "builds images in cached layers")),
          "Multi-stage builds shrink the image by copying only the final artefacts.",
          "Example: docker run -p 8080:80 nginx"),
    Topic("REST APIs", 1, "A REST API exposes resources at an endpoint over HTTP.",
          "expose resources over HTTP",
          (("GET reads a resource and POST creates one.", "use GET to read and POST to create"),
           ("Each endpoint returns JSON that clients parse.", "return JSON from each endpoint"),
           ("Status codes tell the client whether a call worked.", "report results with status codes")),
          "PUT and DELETE must be idempotent so that retries are safe.",
          "Example: def get_user(id): return db.fetch(id)"),
    Topic("Python decorators", 2, "A decorator wraps a function to add behaviour around it.",
          "wrap functions to add behaviour",
          (("The decorator receives the function and returns a new one.", "return a new function"),
           ("A closure keeps the wrapped function in scope.", "keep state in a closure"),
           ("Decorators are applied with the at sign above def.", "are applied with the at sign")),
          "Decorators with arguments add a third level of nesting around the closure.",
          "Example: import functools; def log(fn): return functools.wraps(fn)(fn)"),
    Topic("Caching", 2, "A cache keeps recent results so repeated requests are fast.",
          "keeps recent results to cut latency",
          (("Reading from a cache lowers latency for popular data.", "lowers latency for popular data"),
           ("Eviction removes old entries when the cache is full.", "evicts old entries when full"),
           ("Stale entries expire after a time to live.", "expires stale entries")),
          "Cache stampedes happen when many clients miss the same key at once.",
          "Example: def cached(key): return cache.get(key) or load(key)"),
    Topic("Database indexing", 2, "An index lets a database find rows without scanning the table.",
          "speeds up queries with an index",
          (("A query on an indexed column reads far fewer pages.", "reads fewer pages per query"),
           ("Every index slows down writes a little.", "slows writes slightly"),
           ("Composite indexes cover queries on several columns.", "covers several columns at once")),
          "The planner may ignore an index when the query matches most rows.",
          "Example: CREATE INDEX idx_user ON orders (user_id)"),
    Topic("Message middleware", 3, "Middleware passes messages between services through a queue.",
          "decouples services with a message queue",
          (("A queue absorbs bursts so throughput stays steady.", "keeps throughput steady under bursts"),
           ("Each microservice reads only the messages it needs.", "lets each microservice read its messages"),
           ("Consumers acknowledge a message after handling it.", "acknowledges handled messages")),
          "Exactly-once delivery needs idempotent consumers and deduplication in the middleware.",
          "Example: async def consume(queue): await queue.get()"),
    Topic("Kubernetes", 3, "Kubernetes provides orchestration for containers across a cluster.",
          "automates container orchestration across a cluster",
          (("A pod groups containers that share storage and network.", "groups containers into pods"),
           ("The scheduler places each pod on a node with free resources.", "schedules pods onto nodes"),
           ("A deployment restarts a pod when it fails.", "restarts failed pods")),
          "Operators extend orchestration with custom controllers for stateful workloads.",
          "Example: kubectl apply -f deployment.yaml"),
    Topic("Concurrency", 3, "Concurrent code runs several tasks that share data safely.",
          "runs tasks that share data safely",
          (("A mutex lets only one thread touch shared data.", "guards shared data with a mutex"),
           ("Two locks taken in opposite order can cause a deadlock.", "avoids deadlock with lock ordering"),
           ("Async code waits for I/O without blocking a thread.", "uses async code for I/O")),
          "Lock-free structures rely on atomic compare-and-swap instead of a mutex.",
          "Example: async def fetch(url): return await client.get(url)"),
    Topic("Gradient descent", 3, "Gradient descent is the optimization method behind most models.",
          "minimises a loss by following the gradient",
          (("Each step moves the weights against the gradient.", "moves weights against the gradient"),
           ("The learning rate sets how large each step is.", "sets the step size with the learning rate"),
           ("Mini-batches make each step cheap but noisy.", "uses cheap noisy mini-batches")),
          "Adaptive optimization methods rescale the gradient per parameter using its history.",
          "Example: w = w - lr * grad"),
    Topic("Transformers", 4, "A transformer models text with attention instead of recurrence.",
          "model text with attention",
          (("Attention lets every token look at every other token.", "let every token attend to the others"),
           ("Each token starts as an embedding vector.", "start from token embeddings"),
           ("Positional encodings tell the model the order of tokens.", "encode token positions")),
          "Attention cost grows with the square of the sequence length, which sparse variants avoid.",
          "Example: import torch; scores = q @ k.T / d ** 0.5"),
    Topic("Diffusion anomaly detection", 4,
          "Diffusion models can flag an anomaly by how poorly they rebuild it.",
          "flags anomalies by reconstruction error",
          (("The model adds noise to an input and learns to remove it.", "learns to remove added noise"),
           ("Normal data is rebuilt well while an anomaly is not.", "rebuilds normal data well"),
           ("The anomaly score is the reconstruction error.", "scores reconstruction error")),
          "Choosing the noise level trades sensitivity against false alarms in diffusion detectors.",
          "Example: score = ((x - model.denoise(x + noise)) ** 2).mean()"),
)
FILLER = ("Many teams use this in production.", "This post walks through the basics.",
          "The author shares lessons from a real project.", "Readers asked about this last week.")


def make_document(rng: random.Random) -> dict:
    topic = rng.choice(TOPICS)
    details = rng.sample(topic.details, k=2)
    has_code = rng.random() < 0.4
    advanced = rng.random() < 0.4
    sentences = [topic.intro] + [sentence for sentence, _ in details]
    if advanced:
        sentences.append(topic.advanced)
    if has_code:
        sentences.append(topic.code)
    sentences.insert(rng.randrange(1, len(sentences) + 1), rng.choice(FILLER))
    return {
        "text": " ".join(sentences),
        "summary": f"{topic.name} {topic.core} and {details[0][1]}.",
        "difficulty": min(5, topic.level + int(has_code) + int(advanced)),
        "topic": topic.name,
    }


def make_documents(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    return [make_document(rng) for _ in range(count)]


def find_terms(text: str, terms: list[str]) -> list[str]:
    """Domain terms present in `text`, most frequent first (ties keep glossary order)."""
    import re
    counts = {t: len(re.findall(rf"\b{re.escape(t)}s?\b", text)) for t in terms}
    return [t for t in sorted(terms, key=lambda t: -counts[t]) if counts[t]]


def prerequisites_for(terms: list[str]) -> list[str]:
    seen: list[str] = []
    for term in terms:
        for item in GLOSSARY.get(term, ("", []))[1]:
            if item not in seen and item not in terms:
                seen.append(item)
    return seen
