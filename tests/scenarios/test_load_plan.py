"""bench.load plans a case for a creator who asks for a person or tells of an incident, and
for no how-to question."""

from bench.load import DISCLOSURE, SEED, make_creators

INCIDENTS = (
    "Me hackearon la cuenta",
    "alguien me está acosando en mis lives",
    "creo que una agencia me estafó",
    "my account was stolen and it had my diamonds",
)
HOW_TO = (
    "¿Cómo recupero una cuenta robada?",
    "¿Cómo denuncio a un usuario?",
    "How do I report a viewer?",
    "¿Cómo cambio el correo de mi cuenta?",
)


def test_incidents_are_disclosures_and_how_to_questions_are_not() -> None:
    assert all(DISCLOSURE.search(text) for text in INCIDENTS)
    assert not any(DISCLOSURE.search(text) for text in HOW_TO)


def test_a_creator_plans_a_case_by_asking_for_a_person_or_telling_of_an_incident() -> None:
    creators = make_creators(100, 10, 0.1, SEED)
    for creator in creators:
        disclosed = any(DISCLOSURE.search(text) for text in creator.texts)
        assert creator.plans_case == (creator.escalates or disclosed)
    assert sum(c.plans_case for c in creators) > sum(c.escalates for c in creators)
