"""A synthetic corpus of Questions to the Mayor, in the exact corpus format: ``mqt demo`` (a corpus
to try the commands on) and the benchmarks' generated corpora.

The text is made-up English-like word salad, the members and their parties invented: never mix
it with real questions. ``mqt demo`` marks every title "Synthetic:" so no one takes it for real.

Deterministic and seeded: file ``i`` depends only on ``(seed, i)``, so a 10k corpus is the first
10k files of the 100k one. What it imitates (from the real archive and the seed file):

- titles: a policy topic, often numbered "Hate Crime (3)"; meetings: mostly "MQT", some plenary
  and committee sessions; meeting dates 2000-2024, the session date line in "September 14, 2017"
- askers: ~120 Assembly members, each with a fixed party line (a few without one)
- asked of: mostly "The Mayor", sometimes a deputy mayor or agency; answered by the same
- text: English with a Zipf-like word distribution (function words at the head, London-government
  policy vocabulary in the body, a long tail of rarer words), numbers like ``£1.2bn`` and
  ``2017/18``, borough names, no-break spaces after some sentences as in the real files
- lengths: log-normal question (~70 words) and answer (~250 words, 1-6 paragraphs)
- ~5% unanswered, ~2% holding replies, ~4% answered in several blocks by different people

    python benchmarks/generate.py /tmp/mqt-100k --count 100000 [--seed 1]
    mqt demo /tmp/mqt-demo --count 2000
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
from pathlib import Path

NBSP = "\u00a0"

FUNCTION_WORDS = """the of and to in a that is for be on with as by this are it have we
will has not from at which been was their our all or more can an these they also its would
there other any such those into than about what how were had new should but when out over
its who them one further being through may so under where within between against each if
only up most some do no following while since both before after does now very many well
last next year years per local whether currently already still""".split()

COMMON_WORDS = """work people support provide ensure number public continue including
make set take help need part plan time across place recent increase reduce improve deliver
include review ask progress make report issue data take action response impact level current
total budget funding cost costs money million billion pounds service services programme
programmes scheme schemes project projects strategy policy policies approach partners partner
government national department officers officer staff team teams members member area areas
community communities residents resident families children young older people's school schools
business businesses sector private development developments land sites site building buildings
homes home housing affordable rent rents tenants landlords estate estates planning permission
transport bus buses tube underground rail railway stations station line lines cycling cycle
walking roads road streets street traffic congestion journeys passengers fares fare ticket
police policing crime crimes officers safety violence knife knives gangs victims offences
offenders prison justice court courts stop search community safer neighbourhoods
health hospital hospitals mental care social nhs doctors nurses patients wellbeing obesity
air quality pollution emissions ulez zone charge vehicles diesel electric carbon climate
energy efficiency retrofit solar heat green spaces parks trees flood flooding water waste
recycling fire brigade firefighters station stations grenfell cladding tower safety
economy jobs skills employment wage living apprenticeships training education culture
arts music events olympic olympics stadium legacy tourism night-time venues pubs
equality diversity women discrimination disability accessible step-free lift lifts
consultation engagement assembly committee mayoralty authority borough boroughs council
councils london's capital city city's regional national european brexit covid-19 pandemic
lockdown recovery vaccine testing homelessness rough sleeping sleepers hostel shelter
temporary accommodation eviction evictions overcrowding decent standards repairs""".split()

POLICY_TERMS = """tfl met mopac gla lfb lldc oldc ulez crossrail elizabeth overground
dlr tram silvertown hs2 heathrow gatwick garden bridge rotherhithe hammersmith barking
croydon camden hackney islington lambeth southwark tower hamlets newham haringey ealing
brent barnet enfield bromley bexley greenwich lewisham wandsworth merton sutton kingston
richmond hounslow hillingdon harrow havering redbridge waltham forest westminster
kensington chelsea westfield stratford canary wharf vauxhall nine elms battersea
euston kings cross paddington waterloo liverpool street victoria oxford street
thames embankment superhighway quietway hopper fare-freeze congestion-charge
london-plan housing-zone right-to-buy shared-ownership section-106 viability
taser bodycam stop-and-search dispersal gangs-matrix prevent counter-terrorism
islamophobic antisemitic homophobic racist hate-crime domestic-abuse fgm
""".split()

SYLLABLES = ("""ab ac ad al an ar as at ber bor cal can car cer con cor cul dam den der dis el
             em en er es ex fal fen for gal gan gen ger hal ham han her hol ing ion is ist
             lan lar lat len ler lin lo lor man mar men mer mon mor nal nar nen ner nor ob
             om on or pal pan par pen per por pro ran rat ren res ric ron sal san sen ser
             sion sol son sta ster tal tan ten ter tic tion tor tra tri ul um un ur val
             ven ver vis""").split()

FIRST = """Navin Tom Andrew Caroline Sian Jenny Darren Len Tony Gareth Joanne Murad
Fiona Nicky Susan Keith Peter Shaun Unmesh Onkar Sem Florence Jennette Nicholas Richard
Brian Dee Roger Victoria Steve Mike Valerie Stephen Kemi Andy Jenny Eric Elly Angie
John Darren Bob Anne Marina Hina Emma Zack Krupesh Neil Caroline Leonie Sakina Elly""".split()
LAST = """Shah Copley Dismore Pidgeon Berry Jones Johnson Duvall Arbour Bacon McCartney
Qureshi Twycross Gavron Hall Prince Bailey Desai Sahota Moema Eshalomi Rogers Barnes
Cooper Evans Doocey Kurten Russell Boff Biggs O'Connor Tracey Shawcross Ahmad Devenish
Garratt Berry Baker Hirani Bokhari Blackman Pidgeon Mohammed Kennedy Knight Fortune""".split()
PARTIES = [("Labour Group", 38), ("Conservative Group", 30), ("Liberal Democrat Group", 10),
           ("Green Group", 10), ("UKIP Group", 4), ("Brexit Alliance Group", 2),
           ("GLA Conservatives", 3), ("Independent", 1)]
ASKED_OF = [("The Mayor", 88), ("Deputy Mayor for Policing and Crime", 4),
            ("Deputy Mayor for Housing and Residential Development", 3),
            ("Deputy Mayor for Transport", 2), ("Commissioner of the Metropolitan Police", 1),
            ("London Fire Commissioner", 1), ("Deputy Mayor for Environment and Energy", 1)]
MEETINGS = [("MQT", 85), ("Plenary", 6), ("Budget and Performance Committee", 3),
            ("Police and Crime Committee", 3), ("Transport Committee", 2),
            ("Housing Committee", 1)]
HOLDING_REPLIES = ["Officers are drafting a response which will be sent shortly.",
                   "The Mayor will respond in due course.",
                   "A response is being prepared and will be published shortly.",
                   "Awaiting response from the Greater London Authority."]
DATE_FORMAT_MONTHS = ("January February March April May June July August September October "
                      "November December").split()


def _weighted(pairs):
    items, weights = zip(*pairs)
    return list(items), list(itertools.accumulate(weights))


class Vocabulary:
    """A ranked vocabulary and Zipf-like cumulative weights over it."""

    def __init__(self, seed: int, tail: int = 40_000):
        rng = random.Random(f"vocab:{seed}")
        head = list(dict.fromkeys(FUNCTION_WORDS))
        body = list(dict.fromkeys(COMMON_WORDS + POLICY_TERMS))
        rng.shuffle(body)
        seen = set(head) | set(body)
        rare: list[str] = []
        while len(rare) < tail:
            w = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
            if w not in seen:
                seen.add(w)
                rare.append(w)
        self.words = head + body + rare
        # Each part is Zipf-distributed inside; the parts' shares of all tokens are roughly those
        # of real answers: function words ~45%, policy and common words ~37%, rarer words ~18%.
        weights = []
        for part, share in ((head, 0.45), (body, 0.37), (rare, 0.18)):
            zipf = [1.0 / (r + 2.7) for r in range(len(part))]
            total = sum(zipf)
            weights += [x * share / total for x in zipf]
        self.cum = list(itertools.accumulate(weights))
        self.policy = body

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)


class Generator:
    """Makes question files; ``text(i)`` is the content of file ``i``."""

    def __init__(self, seed: int = 1):
        self.seed = seed
        self.vocab = Vocabulary(seed)
        rng = random.Random(f"members:{seed}")
        parties, pcum = _weighted(PARTIES)
        self.members = []
        for _ in range(120):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            party = rng.choices(parties, cum_weights=pcum)[0] if rng.random() > 0.04 else None
            self.members.append((name, party))
        # Some members ask far more than others (Zipf-like again).
        self.member_cum = list(itertools.accumulate(1.0 / (r + 1) ** 0.8 for r in range(len(self.members))))
        self.asked_of, self.asked_cum = _weighted(ASKED_OF)
        self.meetings, self.meeting_cum = _weighted(MEETINGS)
        topics = [w for w in self.vocab.policy if "'" not in w]
        rng.shuffle(topics)
        self.topics = topics

    def file_name(self, i: int) -> str:
        rng = random.Random(f"name:{self.seed}:{i}")
        return f"{i:07d}_{rng.getrandbits(64):016x}.txt"

    def _sentence(self, rng: random.Random) -> str:
        n = max(4, int(rng.lognormvariate(2.7, 0.4)))
        words = self.vocab.sample(rng, n)
        r = rng.random()
        if r < 0.12:
            words.insert(rng.randrange(len(words)), f"£{rng.randint(1, 999)}.{rng.randint(1, 9)}"
                                                   f"{rng.choice(('m', 'bn', 'm', 'k'))}")
        elif r < 0.2:
            y = rng.randint(2000, 2024)
            words.insert(rng.randrange(len(words)), f"{y}/{(y + 1) % 100:02d}")
        elif r < 0.26:
            words.insert(rng.randrange(len(words)), f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}")
        if rng.random() < 0.3:  # a proper name
            k = rng.randrange(len(words))
            words[k] = words[k].capitalize()
        s = " ".join(words)
        if rng.random() < 0.15:
            mid = rng.randrange(1, len(words))
            s = " ".join(words[:mid]) + ", " + " ".join(words[mid:])
        end = "?" if rng.random() < 0.05 else "."
        return s[0].upper() + s[1:] + end

    def _paragraph(self, rng: random.Random, words_target: int) -> str:
        out, n = [], 0
        while n < words_target:
            s = self._sentence(rng)
            n += s.count(" ") + 1
            out.append(s)
        sep = [" " if rng.random() < 0.85 else f"{NBSP} " for _ in out]  # real files have these
        return "".join(s + sep[k] for k, s in enumerate(out)).rstrip()

    def _text(self, rng: random.Random, mu: float, sigma: float, max_paras: int) -> list[str]:
        total = max(12, int(rng.lognormvariate(mu, sigma)))
        paras = min(max_paras, 1 + total // 90)
        return [self._paragraph(rng, max(8, total // paras)) for _ in range(paras)]

    def question(self, i: int) -> dict:
        """The fields of question ``i`` (used by :meth:`text` and by tests)."""
        rng = random.Random(f"doc:{self.seed}:{i}")
        topic = " ".join(w.replace("-", " ") for w in rng.sample(self.topics, rng.choice((1, 1, 2, 2, 3))))
        title = topic.title()
        if rng.random() < 0.45:
            title += f" ({rng.randint(1, 9)})"
        day = dt.date(2000, 5, 4) + dt.timedelta(days=rng.randrange((dt.date(2024, 12, 31) - dt.date(2000, 5, 4)).days))
        asker, party = rng.choices(self.members, cum_weights=self.member_cum)[0]
        asked_of = rng.choices(self.asked_of, cum_weights=self.asked_cum)[0]
        meeting = rng.choices(self.meetings, cum_weights=self.meeting_cum)[0]
        question = self._text(rng, 4.2, 0.55, 3)
        r = rng.random()
        if r < 0.05:
            answers = []
        elif r < 0.07:
            answers = [(asked_of, [rng.choice(HOLDING_REPLIES)])]
        elif r < 0.11:
            answers = [(asked_of, self._text(rng, 5.0, 0.6, 4)),
                       (rng.choice(self.asked_of[1:]), self._text(rng, 4.6, 0.6, 3))]
        else:
            answers = [(asked_of, self._text(rng, 5.25, 0.6, 6))]
        session = f"{DATE_FORMAT_MONTHS[day.month - 1]} {day.day:02d}, {day.year}"
        return dict(title=title, meeting=meeting, date=day, session=session, asker=asker,
                    party=party, asked_of=asked_of, question=question, answers=answers)

    def text(self, i: int, marked: bool = False) -> str:
        """The file of question ``i``; ``marked``: its title starts with "Synthetic: "."""
        d = self.question(i)
        lines = [f"Synthetic: {d['title']}" if marked else d["title"], "", f"{d['meeting']} on {d['date'].isoformat()}",
                 f"Session date:{NBSP}", d["session"], f"Question By:{NBSP}", d["asker"]]
        if d["party"]:
            lines.append(d["party"])
        lines += [f"Asked Of:{NBSP}", d["asked_of"], "", ""]
        lines += "\n\n".join(d["question"]).split("\n")
        if d["answers"]:
            lines += ["", "", f"Answer for {d['title']}", "", f"Answer for {d['title']}", ""]
            for by, paras in d["answers"]:
                lines += [f"Answered By:{NBSP}", by, ""]
                lines += "\n\n".join(paras).split("\n")
                lines.append("")
        return "\n".join(lines).rstrip("\n")


def generate(out_dir: str | os.PathLike, count: int, seed: int = 1, start: int = 0,
             marked: bool = False) -> Path:
    """Write files ``start .. count-1`` into ``out_dir`` (existing identical files are kept);
    ``marked`` titles every question "Synthetic: ..." (``mqt demo``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = Generator(seed)
    for i in range(start, count):
        (out / g.file_name(i)).write_text(g.text(i, marked), encoding="utf-8")
    return out


#: Written beside a demo corpus (not a ``.txt`` file, so never indexed).
DEMO_NOTE = """\
# Synthetic questions

Every file in this folder was made up by `mqt demo` (index_data/synthetic.py): invented members,
parties and dates, and English-like word salad for text. Every title starts with "Synthetic:".
It is here to try mqt's commands on; it says nothing about the real Questions to the Mayor.
"""


def demo(out_dir: str | os.PathLike, count: int = 2000, seed: int = 1) -> Path:
    """A marked synthetic corpus of ``count`` questions to try mqt on, with a note saying so."""
    out = generate(out_dir, count, seed, marked=True)
    (out / "SYNTHETIC.md").write_text(DEMO_NOTE, encoding="utf-8")
    return out
