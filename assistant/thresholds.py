"""Every number the assistant decides by, each defined once: what it measures, and the evaluation
figure behind it (eval/README.md; "set by hand" where none was measured for the number itself).
"""

from __future__ import annotations

# -- whether the knowledge base covers a question (policy.is_covered) ------------------------------
# multilingual-e5-small scores everything Chinese 0.80–0.95, so similarity alone cannot tell covered
# from not; with the known-word share below, these decline 74% of the two dev sets' out-of-scope
# questions while wrongly declining 1.3% of the in-scope ones (eval/README.md, issue 3).
# Best dense similarity below which a question is not covered at all.
DENSE_FLOOR = {"zh": 0.885, "en": 0.80}
# Best dense similarity above which a question is covered whatever its words; also what a turn's own
# match must reach for it not to be read as continuing the conversation.
DENSE_SURE = {"zh": 0.90, "en": 0.86}
# Share of a question's content words the index must know, between the floor and the sure mark.
MIN_KNOWN_SHARE = 0.5

# -- families of sibling items (policy.family_choices, prefer_named) -------------------------------
# Candidates looked at beside the best one: siblings, the asked group's item; "公司营业执照办下来要几天"
# finds its item fourth (taking the asked group's candidate from the first five: demo hit@1
# 0.911 → 0.913, session 6).
CANDIDATE_WINDOW = 5
# Characters two item names (without brackets) must share to be one family; set by hand, not measured
# separately.
FAMILY_COMMON = 4
# Fused-score difference under which two family members are tied and we ask back; set by hand, not
# measured separately.
CLARIFY_MARGIN = 0.25
# How far behind the best hit a sibling the question names may be and still go first; set by hand,
# not measured separately.
SIBLING_MARGIN = 1.0
# Weight of each stage of life, applicant group or bundle the question names that a sibling's name
# agrees with (minus as much for one it does not); set by hand, not measured separately.
NAMED_WEIGHT = 2
# Weight of the reading a question that names nothing assumes (the ordinary resident's sibling, the
# item rather than the bundle containing it); set by hand, not measured separately.
DEFAULT_READING_WEIGHT = 1

# -- whether an item covers the question's object (coverage) ---------------------------------------
# A word of the question that names items (it is in some guide's name or aliases) tells items apart
# when it is in at most this share of the names (身份证, 驾驶证, 营业执照 — not 证书, 登记, 申请); the item
# must then mention it. Set from the names' word shares in the demo and Guangdong bases (see
# eval/README.md, issue 14).
SPECIFIC_NAME_SHARE = 0.02
# Characters of item words (aspect words and fillers removed) up to which an hours, address or phone
# question asked at a doorplate is about the place itself ("中午休息吗" leaves 中息, "这里在哪" 里); set
# by hand.
PLACE_QUESTION_RESIDUAL = 2
# Characters of a reply's summary, the direct answer shown first on a phone (issue 14: "≤ 80").
SUMMARY_CHARS = 80
# Characters of an answer to one aspect (materials, fee …), summary first; the full 一次性告知单 is a
# link away (issue 14: "≤ 400"). The parts that answer the very question fill it first.
ANSWER_CHARS = 400
# Characters of an answer to "how do I do X" (every aspect at once): conditions, materials, time,
# fee and where; set by hand to what a phone shows in about two screens.
GENERAL_ANSWER_CHARS = 600
# Items offered when none covers the question but some cover its object with another act ("没有找到
# 营业执照遗失补办的指南。您是要办以下哪一项？"); set by hand, as many as a phone shows without scrolling.
ASK_BACK_CHOICES = 3
# Characters of the question's item words a reply echoes when it names no object ("没有找到“…”的指南");
# set by hand.
UNCOVERED_ECHO_CHARS = 12

# -- conversations (engine) ------------------------------------------------------------------------
# Candidates asked of the knowledge base per search; set by hand, not measured separately.
SEARCH_DEPTH = 8
# Characters of item words (aspect words and fillers removed) up to which a question in a conversation
# is a short follow-up ("那养老保险呢"), read together with the previous question; set by hand, not
# measured separately.
SHORT_FOLLOW_UP = 8
# Characters of item words up to which a question names no item of its own ("那要多久？": 那 … 多久
# are fillers and aspect words); set by hand, not measured separately.
NO_ITEM_RESIDUAL = 1
# A short follow-up is searched alone and with the previous question; the two rankings are merged by
# weight / (rank + RANK_OFFSET), the reading in context weighing CONTEXT_READING_WEIGHT of the
# question's own, and the merged score is shown as log1p(score) × MERGED_SCORE_SCALE; all set by
# hand, not measured separately.
CONTEXT_READING_WEIGHT = 0.8
RANK_OFFSET = 2
MERGED_SCORE_SCALE = 4
# Characters a reply to a clarifying question must share with a choice's name to pick it ("补领");
# set by hand, not measured separately.
PICK_MIN_SHARED = 2

# -- understanding a question ----------------------------------------------------------------------
# Latin letters per Han character above which a question is English; set by hand, not measured
# separately.
LATIN_PER_HAN = 3
# Shortest place name of the gazetteer taken as a region (one-character 京, 沪 … are too ambiguous);
# set by hand, not measured separately.
MIN_PLACE_NAME = 2

# -- composing an answer (compose) -----------------------------------------------------------------
# Share of an FAQ question's character pairs the question must use for the guide's own FAQ pair to be
# shown; set by hand (choosing the pair by e5 similarity instead was measured: +1 −5 on demo fact
# recall, session 3).
FAQ_MATCH_SHARE = 0.25
# Materials named in the 一次性告知 line before "等"; set by hand, not measured separately.
NOTICE_MATERIALS = 6
# Conditions kept when an answer must be short (the first ones; guides list the main ones first);
# set by hand.
NOTICE_CONDITIONS = 3
# Steps kept when an answer must be short (the first ones: what to do first); set by hand.
NOTICE_STEPS = 3
# Length in characters of a sentence that may be quoted as evidence; set by hand, not measured
# separately.
QUOTE_MIN_CHARS = 4
QUOTE_MAX_CHARS = 120
# Sentences quoted as evidence per answer (three instead of two: no change on the dev sets, session 3).
QUOTED_SENTENCES = 2
# Topic-bearing character pairs a sentence must share with the question to be quoted (unless it
# speaks to the asked aspect); set by hand, not measured separately.
MIN_SHARED_PAIRS = 2
# Weight of a pair that only an FAQ answer's question has, against one the answer itself says (demo
# fact recall 0.899 → 0.905, session 5).
FAQ_QUESTION_WEIGHT = 0.5
# Characters of a document shown when no passage of it matched; set by hand, not measured separately.
DOCUMENT_PASSAGE_CHARS = 400
