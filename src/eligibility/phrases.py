"""The grammar's own words: comparators, connective phrases and filler, as the tokeniser reads them.

Why apart from ``grammar``: this table is what an editor changes most (a new way of writing
"at least"), and it is data, not code. ``grammar`` turns it into lexicon entries; the cached
parser tables are keyed on this file's bytes too (``tables._sources``).
"""

from __future__ import annotations

# Grammar words: token type -> phrases (matched case-insensitively, longest first, after folding
# case, spaces, hyphens and dots). Values after "=" are the token's payload.

CMP = {
    "≥": "≥ | at least | no less than | not less than | greater than or equal to | greater than or "
    "equal | equal to or greater than | equal or greater than | more than or equal to | equal to "
    "or more than | higher than or equal to | equal to or higher than | equal or above | minimum "
    "| minimum of | a minimum of | not below | not lower than | no lower than | no fewer than | "
    "not fewer than | above or equal to | over or equal to | ≥ or =",
    ">": "> | greater than | more than | higher than | above | over | exceed | exceeds | exceeding "
    "| in excess of | elevated above | superior to | >/",
    "≤": "≤ | at most | no more than | not more than | no greater than | not greater than | no "
    "higher than | not higher than | not exceed | not exceeding | does not exceed | do not exceed "
    "| not to exceed | should not exceed | must not exceed | not above | less than or equal to | "
    "less than or equal | equal to or less than | equal or less than | lower than or equal to | "
    "equal to or lower than | up to | maximum | maximum of | a maximum of | below or equal to | "
    "under or equal to | ≤ or =",
    "<": "< | less than | lower than | below | under | fewer than | inferior to",
}
CMP_POST = {
    "≥": "or more | or greater | or higher | or above | or over | and above | and over | and more "
    "| and higher | or later | minimum | at least",
    "≤": "or less | or lower | or below | or fewer | and below | and under | maximum | at most",
}
PHRASES: dict[str, str] = {
    "EQ": "= | equal to | equals | of",
    "BETWEEN": "between",
    "AGEPOST": "or older=≥ | and older=≥ | years or older=≥ | or younger=≤ | and younger=≤",
    "FROM": "from",
    "TO": "to | through | - | until",
    "AND": "and | & | as well as | plus",
    "OR": "or | either",
    "ANDOR": "and/or | and or",
    "SLASH": "/",
    "LPAR": "( | [",
    "RPAR": ") | ]",
    "COMMA": ",",
    "TIMES": "× | x | times | fold | -fold | time | folds | multiples of",
    "ULN": "ULN | IULN | upper limit of normal | upper limit of the normal | upper limit normal | "
    "upper limits of normal | upper normal limit | upper normal value | upper limit of normal "
    "range | upper limit of the normal range | upper limit of the normal value | "
    "upper limit of normal value | normal upper limit | the normal upper limit | upper limit | "
    "upper range of normal | "
    "upper limit of normal (ULN) | the upper limit of normal | institutional upper limit of normal "
    "| upper limit of institutional normal | ULN for the institution | institutional ULN",
    "LLN": "LLN | lower limit of normal | lower limit of the normal | lower normal limit | normal "
    "lower limit | lower limit of normal range | lower limit of the normal range | lower limits of "
    "normal | institutional lower limit of normal",
    "NORMRANGE": "normal upper and lower limits | the normal upper and lower limits | upper and "
    "lower limits of normal | upper and lower limit of normal | normal upper and lower limit | the "
    "upper and lower limits of normal | upper and lower limits of the normal range",
    "BY": "by",
    "ECOG": "ECOG | ECOG PS | ECOG performance status | ECOG performance score | ECOG score | "
    "ECOG-PS | Eastern Cooperative Oncology Group | Eastern Cooperative Oncology Group performance "
    "status | Eastern Cooperative Oncology Group Performance Status | ECOG/WHO | WHO/ECOG | WHO "
    "performance status | WHO PS | WHO | Zubrod | Zubrod performance status | ECOG PS score | ECOG "
    "performance status score",
    "KPS": "Karnofsky | KPS | Karnofsky performance status | Karnofsky performance score | "
    "Karnofsky performance scale | Karnofsky score | Karnofsky index | Karnofsky scale | "
    "Karnofsky PS",
    "PS": "performance status | PS | performance score | performance status score",
    "CHILDPUGH": "Child-Pugh | Child Pugh | Child-Puch | Child-Turcotte-Pugh | Child-Pugh-Turcotte "
    "| CTP | Child-Pugh liver function | Child-Pugh score | Child-Pugh class | Child-Pugh "
    "classification | Child-Pugh grade | Child-Pugh rating | liver function Child-Pugh",
    "CLASS": "class | grade | rating | score | classification | stage | category | level",
    "AGE": "age | aged | ages | age of | age at | age range | age limit | aged between",
    "OLD": "old | of age | years old | year old | years of age | year of age | y/o | yo",
    "SEX": "male=male | males=male | men=male | man=male | female=female | females=female | "
    "women=female | woman=female",
    "SEXALL": "male or female | female or male | males or females | females or males | men or "
    "women | women or men | males and females | females and males | men and women | women and men "
    "| both sexes | either sex | any sex | both genders | either gender | any gender | all sexes",
    # not "pregnant or planning to become pregnant": broader than the pregnancy it reads
    "PREG": "pregnant | pregnancy | pregnant women | pregnant woman | pregnant female | currently "
    "pregnant",
    "BF": "breastfeeding | breast-feeding | breast feeding | lactating | lactation | nursing | "
    "breastfeed | breast-feed | nursing mothers | lactating women | breastfeeding women",
    "NOT": "no | not | without | absence of | free of | none | non | neither | nor",
    "NEGATIVE": "negative | seronegative",
    "ACTIVE": "active | current | currently active | ongoing | concurrent active | accompanied by",
    "HIST": "history of | a history of | past history of | medical history of | prior history of "
    "| past | previous | prior | previously | had | history | known history of | history of "
    "known | previously received | have received | has received | had received | received | "
    "prior treatment with | previous treatment with | treatment with | treated with | prior "
    "therapy with | previous therapy with | therapy with | exposure to | prior exposure to | "
    "previous exposure to | pretreated with | previously treated with | prior use of | "
    "previous use of | "
    "prior systemic treatment with | received prior | receipt of | prior receipt of | any prior | "
    # "past or current X" is a history at any time, current included
    "past or simultaneous | past or concurrent | past or current | current or past | previous or "
    "current | current or previous | prior or current | current or prior | past or present | "
    "present or past | current or prior use of | current or previous use of | prior or current use "
    "of | past or current use of",
    "POSITIVE": "positive | seropositive | positivity | infected | infection",
    "EXCEPT": "except | except for | excluding | other than | with the exception of | apart from "
    "| but not | besides | save for | with exception of | with the exclusion of "
    "| with exclusion of",
    "UNLESS": "unless | provided that | as long as | if not",
    # what an exception asks of the excepted conditions ("except for fully treated …")
    "TREATED": "fully treated | adequately treated | curatively treated | successfully treated | "
    "radically treated | completely treated | definitively treated | completely resected | "
    "curatively resected | adequately controlled | treated",
    "IF": "if | for | in | in case of | in the case of | in the presence of | when | where | in "
    "patients with | in subjects with | for patients with | for subjects with | in those with | "
    "in the setting of | due to | attributable to | secondary to | if due to",
    "WITHIN": "within | within the last | within the past | within the previous | in the last | "
    "in the previous | during the last | during the past | during the previous | in the preceding "
    "| within the preceding | within a period of",
    "PAST": "in the past | ever | at any time | at any time in the past",
    "BEFORE": "before | prior to | preceding | of | before the start of | prior to the start of",
    "REF": "enrollment | enrolment | screening | randomization | randomisation | registration | "
    "study entry | entry | inclusion | study start | the study | study enrollment | the first dose "
    "| first dose | first dose of study drug | first dose of study treatment | the first dose of "
    "study drug | the first dose of study treatment | first dose of study medication | the first "
    "dose of study medication | start of study treatment | start of treatment | study treatment | "
    "treatment start | initiation of study treatment | initiation of treatment | day 1 | cycle 1 "
    "day 1 | C1D1 | signing informed consent | signing the informed consent | informed consent | "
    "the first administration | first administration | the start of study treatment | "
    "the initiation of study treatment | study drug administration | the first dose of the study "
    "drug | the first study treatment",
    "AGO": "ago",
    # a recorded estimate, however it is worded; "compatible with the study" and "reasonable"
    # life expectancy are judgements and stay unread words
    "LIFE": "life expectancy | estimated life expectancy | anticipated life expectancy | expected "
    "life expectancy | predicted life expectancy | projected life expectancy | life expectancy "
    "estimated to be | estimated life expectancy of | life expectancy estimated by the "
    "investigator to be | life expectancy is estimated to be | expected survival | estimated "
    "survival | anticipated survival | predicted survival | expected survival time | survival "
    "expectancy | life-expectancy | estimated life-expectancy",
    # comparators of a length of time, read only in a life clause ("shorter than 6 months")
    "LCMP": "longer than=> | shorter than=<",
    "LCMP_POST": "or longer=≥ | or shorter=≤",
    # who made the estimate: not a judgement left to the reviewer (read only in a life clause)
    "OPINION": "in the opinion of the investigator | in the investigator's opinion | in the "
    "opinion of the treating investigator | in the opinion of the treating physician | in the "
    "opinion of the physician | in the investigator's judgment | in the investigator's judgement "
    "| in investigator's judgment | in investigator's judgement | in the judgment of the "
    "investigator | in the judgement of the investigator | as judged by the investigator | as "
    "judged by the treating physician | as assessed by the investigator | as assessed by the "
    "principal investigator | as determined by the investigator | as documented by the "
    "investigator | as estimated by the investigator | according to the investigator | according "
    "to the investigator's judgment | according to the investigator's judgement | according to "
    "investigator's judgment | according to investigator's judgement | based on investigator's "
    "assessment | based on the investigator's assessment | based on investigator assessment | by "
    "investigator assessment | per investigator | per investigator assessment | per the "
    "investigator | as per investigator | per investigator's judgment | per investigator judgment "
    "| as per the investigator",
    "OTHER": "other | another | second | additional",
    "HEAD": "antibody | antibodies | inhibitor | inhibitors | monoclonal antibody | monoclonal "
    "antibodies | blocker | blockers | agent | agents | therapy | therapies | drug | drugs | "
    "targeted agent | targeted therapy | antibody therapy",
    "TIMEUNIT": "",  # only directly after a number (see _after_number)
}
# Words that carry no meaning for the rules: dropped inside a clause. Kept short on purpose;
# a word missing here only costs coverage, a wrong one here costs precision.
FILLER = (
    "the | a | an | is | are | be | been | being | was | were | must | should | shall | will | "
    "would | has | have | having | patient | patients | subject | subjects | participant | "
    "participants | person | persons | individual | individuals | people | with | who | that | "
    "which | whose | level | levels | count | counts | value | values | concentration | "
    "concentrations | result | results | points | point | status | documented | known | "
    "diagnosed | diagnosed with | diagnosis of | diagnosis | diagnoses | diagnoses of | "
    "evidence of | presence of | "
    "institutional | laboratory | lab | at screening | at baseline | at the time of screening | "
    "at the screening visit | at the time of signing informed consent | at the time of signing "
    "the informed consent | at the time of signing the informed consent form | at the time of "
    "informed consent | at time of consent | at the time of consent | on the day of signing "
    "informed consent | at the time of enrollment | at study entry | at enrollment | suffer from "
    "| suffering from | suffers from | suffered from | infected with | infected by | infection "
    "with | infection by | infection of | any | any of | any kind of | either of | as "
    "follows | of any kind | any form of | any type of | score of | subjects who | patients who "
    "| those who | persons who | known to | documented history of | eg | e.g. | ie | i.e. | "
    "complicated by | complicated with | combined with | presenting with | "
    "disease | diseases | disorder | disorders"
)


def split_phrases(spec: str) -> list[tuple[str, str | None]]:
    out = []
    for p in spec.split(" | "):
        p = p.strip()
        if not p:
            continue
        phrase, _, payload = (
            p.partition("=")
            if "=" in p and len(p) > 1 and p[0] != "="
            else (
                p,
                "",
                "",
            )
        )
        out.append((phrase.strip(), payload or None))
    return out
