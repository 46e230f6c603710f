"""Write data/reviews.csv: 800 short product reviews, labelled positive or negative, with a fixed train/test split.

The reviews were written for trainpipe's text examples: sentences about twelve kinds of product, composed from phrase
lists below, with the things that make sentiment hard on purpose: negations ("not bad", "hardly worth it"), a
complaint inside a happy review and praise inside an unhappy one, neutral filler about delivery or packaging, and in
half the reviews an opening or closing line that gives nothing away, so the verdict is in the details.
The split is fixed (600 train, 200 test, each half positive) so every model is compared on the same test reviews.
Run it again and the file comes out byte for byte the same (the seed is fixed).
Usage: python data/make_reviews.py
"""
import csv
import random
from pathlib import Path

PRODUCTS = ["headphones", "blender", "rain jacket", "coffee grinder", "office chair", "e-reader", "tent", "desk lamp",
            "running shoes", "kettle", "backpack", "phone case"]
ASPECTS = {
    "headphones": ["the sound", "the bass", "the noise cancelling", "the battery", "the ear cushions"],
    "blender": ["the motor", "the jug", "the blades", "the lid", "the noise level"],
    "rain jacket": ["the hood", "the zip", "the fabric", "the fit", "the seams"],
    "coffee grinder": ["the grind", "the burrs", "the hopper", "the timer", "the cleanup"],
    "office chair": ["the lumbar support", "the armrests", "the cushion", "the wheels", "the assembly"],
    "e-reader": ["the screen", "the battery", "the page turns", "the backlight", "the store"],
    "tent": ["the poles", "the rainfly", "the zips", "the floor", "the pitching"],
    "desk lamp": ["the light", "the dimmer", "the arm", "the base", "the switch"],
    "running shoes": ["the cushioning", "the grip", "the laces", "the fit", "the sole"],
    "kettle": ["the boil time", "the handle", "the spout", "the lid", "the auto shut-off"],
    "backpack": ["the straps", "the zips", "the laptop sleeve", "the pockets", "the stitching"],
    "phone case": ["the grip", "the buttons", "the edges", "the camera cutout", "the finish"],
}
# {is}, {has}, {s}, {es}, {it}: filled in for a singular or a plural subject ("the lid is", "the zips are")
GOOD = ["{is} excellent", "work{s} perfectly", "{is} better than I expected", "feel{s} solid", "{is} a real pleasure",
        "do{es} exactly what {it} should", "{is} superb", "{has} held up well", "{is} comfortable all day", "{is} impressive for the price"]
BAD = ["{is} awful", "stopped working", "{is} worse than I expected", "feel{s} flimsy", "{is} a constant annoyance",
       "do{es} not do what {it} should", "{is} dreadful", "fell apart", "{is} uncomfortable after an hour", "{is} poor even for the price"]
NOT_BAD = ["{is} not bad at all", "{is} hardly a problem", "never let me down", "{is} not flimsy like my old one", "{has} no real flaws"]
NOT_GOOD = ["{is} not great", "{is} hardly worth it", "never worked properly", "{is} not what the photos suggest", "{has} no redeeming features"]
OPEN_POS = ["Really happy with {this} {p}.", "I love {this} {p}.", "Great {p}, would buy {them} again.", "{This} {p} {is} a keeper.",
            "Best {p} I have owned.", "Very pleased with the {p}.", "Five stars for {this} {p}.", "The {p} exceeded my hopes."]
OPEN_NEG = ["Really disappointed with {this} {p}.", "I regret buying {this} {p}.", "Terrible {p}, would not buy {them} again.",
            "{This} {p} {is} going back.", "Worst {p} I have owned.", "Very unhappy with the {p}.", "One star for {this} {p}.",
            "The {p} let me down."]
OPEN_NEUTRAL = ["Bought {this} {p} last month.", "My second {p} from this brand.", "I have used the {p} every day for a while now.",
                "Ordered the {p} after reading a few reviews.", "Here are my thoughts on the {p}.", "Replaced my old {p} with this one."]
CLOSE_NEUTRAL = ["That is all for now.", "Make of that what you will.", "Just my experience.", "I may update this later."]
CLOSE_POS = ["Recommended.", "Worth every penny.", "I would happily recommend it.", "No regrets.", "Buy it.", "Top marks."]
CLOSE_NEG = ["Avoid.", "A waste of money.", "I would not recommend it.", "Returned it.", "Save your money.", "Not again."]
NEUTRAL = ["It arrived on a Tuesday.", "The box was a bit battered.", "Delivery took four days.", "I bought it as a gift.",
           "It came in the blue colour.", "I have had it for two months.", "The instructions were in three languages.", ""]


def agree(phrase: str, noun: str) -> str:
    "`phrase` with its verbs and pronouns agreeing with `noun`."
    many = noun.endswith("s") and noun != "the bass"
    words = {"is": "are", "has": "have", "s": "", "es": "", "it": "they", "them": "them", "this": "these", "This": "These"} if many else \
            {"is": "is", "has": "has", "s": "s", "es": "es", "it": "it", "them": "it", "this": "this", "This": "This"}
    return phrase.format(p=noun, **words)


def review(rng: random.Random, positive: bool) -> str:
    "One review: an opening, two or three aspect sentences (one may go against the grain), perhaps filler, a closing."
    product = rng.choice(PRODUCTS)
    aspects = rng.sample(ASPECTS[product], 3)
    opening = OPEN_NEUTRAL if rng.random() < 0.5 else OPEN_POS if positive else OPEN_NEG  # half say nothing of how it went
    sentences, turned = [agree(rng.choice(opening), product)], False
    for i, aspect in enumerate(aspects[:rng.choice([2, 3])]):
        against = i > 0 and not turned and rng.random() < 0.4  # one complaint in a happy review, or praise in an unhappy one
        turned |= against
        side = positive != against
        bank = (NOT_BAD if side else NOT_GOOD) if rng.random() < 0.3 else (GOOD if side else BAD)
        sentence = f"{aspect} {agree(rng.choice(bank), aspect)}."
        sentences.append(f"Only {sentence}" if against else sentence[0].upper() + sentence[1:])
    sentences.append(rng.choice(NEUTRAL))
    sentences.append(rng.choice(CLOSE_NEUTRAL if rng.random() < 0.5 else CLOSE_POS if positive else CLOSE_NEG))
    return " ".join(s for s in sentences if s)


def main(path: Path = Path(__file__).with_name("reviews.csv"), seed: int = 2024):
    rng = random.Random(seed)
    rows, seen = [], set()
    for split, n in (("train", 600), ("test", 200)):
        for i in range(n):
            positive = i % 2 == 0
            text = review(rng, positive)
            while text in seen: text = review(rng, positive)  # every review is distinct, across both parts
            seen.add(text)
            rows.append({"text": text, "label": "positive" if positive else "negative", "split": split})
    rng.shuffle(rows)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} reviews to {path}")


if __name__ == "__main__":
    main()
