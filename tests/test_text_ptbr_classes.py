"""pt-BR as Brazilians write it: one table of written -> spoken cases per class of the normaliser.

The cases are ours (invoices, addresses, news), not a published suite's; the agreement with one
is measured by benchmarks/bench_text_ptbr.py. Each row is compared exactly: a rule that drifts
fails here with the written form that drifted.
"""

from __future__ import annotations

import pytest

from f5lab.speech.text.normalizer import Normalizer, normalize, normalize_detailed, roman_value

CLASSES: dict[str, list[tuple[str, str]]] = {
    "cardinal": [
        ("1 000", "mil"),
        ("10 000 000", "dez milhões"),
        ("1001001", "um milhão mil e um"),
        ("1001000", "um milhão e mil"),
        ("1110000", "um milhão cento e dez mil"),
        ("2000000001", "dois bilhões e um"),
        ("São 1 500 pessoas.", "são mil e quinhentas pessoas."),
    ],
    "fraction": [
        ("3/4", "três quartos"),
        ("1/2", "um meio"),
        ("3/11", "três onze avos"),
        ("1 1/2", "um e um meio"),
        ("2 3/4", "dois e três quartos"),
        ("1/2 xícara de açúcar", "meia xícara de açúcar"),
        ("1/2 kg", "meio quilo"),
        ("1/100", "um centésimo"),
    ],
    "digit_string": [
        ("(11) 98765-4321", "um um, nove oito sete seis cinco, quatro três dois um"),
        ("+55 11 3333-4444", "mais cinco cinco, um um, três três três três, quatro quatro quatro quatro"),
        ("CEP 01310-100", "cep zero um três um zero, um zero zero"),
        ("CPF 123.456.789-09", "cê pê efe um dois três, quatro cinco seis, sete oito nove, zero nove"),
        ("12.345.678/0001-90", "um dois, três quatro cinco, seis sete oito, zero zero zero um, nove zero"),
        ("+1 (555) 123-4567", "mais um, cinco cinco cinco, um dois três, quatro cinco seis sete"),
        ("0800 123 4567", "zero oito zero zero, um dois três, quatro cinco seis sete"),
        ("192.168.0.1", "um nove dois ponto um seis oito ponto zero ponto um"),
        ("(11) 3333-4444 ramal 12", "um um, três três três três, quatro quatro quatro quatro, extensão um dois"),
    ],
    "date": [
        ("15.03.2024", "quinze de março de dois mil e vinte e quatro"),
        ("15-03-2024", "quinze de março de dois mil e vinte e quatro"),
        ("2024-03-15", "quinze de março de dois mil e vinte e quatro"),
        ("1 de janeiro", "primeiro de janeiro"),
        ("01 de janeiro de 2000", "primeiro de janeiro de dois mil"),
        ("03/2025", "março de dois mil e vinte e cinco"),
        ("até 15/3", "até quinze de março"),
        ("no dia 5/10", "no dia cinco de outubro"),
        ("01/02", "primeiro de fevereiro"),  # zero-padded: written as a date
        ("10 de Dezembro de 1999", "dez de dezembro de mil novecentos e noventa e nove"),
        ("31/13/2020", "trinta e um barra treze barra dois mil e vinte"),  # no month 13: not a date
    ],
    "time": [
        ("14.30", "catorze horas e trinta"),
        ("14H30", "catorze horas e trinta"),
        ("7H", "sete horas"),
        ("14:30h", "catorze horas e trinta"),
        ("14:30:05", "catorze horas e trinta minutos e cinco segundos"),
        ("15h da tarde", "três horas da tarde"),
        ("21:00", "vinte e uma horas"),
        ("1h", "uma hora"),
        ("às 09.30 horas", "às nove horas e trinta"),
        ("1.33 milhões", "um ponto trinta e três milhões"),  # not a time
        ("14h30min", "catorze horas e trinta minutos"),
    ],
    "money": [
        ("R$ 1234.56", "mil duzentos e trinta e quatro reais e cinquenta e seis centavos"),
        ("R$ 1 000", "mil reais"),
        ("12x de R$ 102,88", "doze vezes de cento e dois reais e oitenta e oito centavos"),
        ("£ 2", "duas libras"),
        ("R$ 1000000", "um milhão de reais"),
        ("R$ 2,5 mi", "dois vírgula cinco milhões de reais"),
        ("R$ 1 bi", "um bilhão de reais"),
        ("US$ 4.8 milhões", "quatro ponto oito milhões de dólares"),
    ],
    "x": [
        ("O Brasil venceu por 3x1.", "o brasil venceu por três a um."),
        ("2 x 0", "dois a zero"),
        ("tela de 1920x1080", "tela de mil novecentos e vinte por mil e oitenta"),
        ("2x por semana", "duas vezes por semana"),
    ],
    "ordinal": [
        ("3ª feira", "terça-feira"),
        ("na 2ª-feira", "na segunda-feira"),
        ("11ª casa", "décima primeira casa"),
        ("1° lugar no 2° turno", "primeiro lugar no segundo turno"),
        ("1° de maio", "primeiro de maio"),
        ("faz 30° hoje", "faz trinta graus hoje"),  # a degree sign elsewhere is a degree
        ("1a vez", "primeira vez"),
    ],
    "roman": [
        ("Século XXI", "século vinte e um"),
        ("no século V", "no século quinto"),
        ("Dom Pedro II", "dom pedro segundo"),
        ("Papa Bento XVI", "papa bento dezesseis"),
        ("Rainha Elizabeth II", "rainha elizabeth segunda"),
        ("Capítulo IV", "capítulo quarto"),
        ("Parte II", "parte dois"),
        ("A II Guerra Mundial", "a segunda guerra mundial"),
        ("Eu vi o filme.", "eu vi o filme."),  # 'vi' is a verb, not six
        ("Mix de frutas", "mix de frutas"),
    ],
    "initialism": [
        ("O IBGE divulgou", "o i bê gê é divulgou"),
        ("O PIB cresceu", "o pib cresceu"),  # read as a word
        ("BR-116", "bê erre cento e dezesseis"),
        ("Petrobras S.A.", "petrobras esse a."),
        ("os EUA e a ONU", "os é u a e a onu"),  # ONU is read as a word
        ("AVISO: LEIA COM ATENÇÃO.", "aviso: leia com atenção."),  # a line in capitals is not spelled
        ("ÔNIBUS às 7h", "ônibus às sete horas"),
        ("G20, 5G e 3D", "gê vinte, cinco gê e três dê"),
        ("f5lab", "f cinco lab"),  # lowercase: not a letter's name
    ],
    "abbreviation": [
        ("apto. 42", "apartamento quarenta e dois"),
        ("de seg. a sex.", "de segunda a sexta."),
        ("em jan. e fev.", "em janeiro e fevereiro."),
        ("p/ você", "para você"),
        ("café c/ leite", "café com leite"),
        ("Sr. Silva", "senhor silva"),
        ("no km 23", "no quilômetro vinte e três"),
        ("em 3 vol. pelos correios", "em três volumes pelos correios"),
        ("e/ou", "e ou"),
        ("São Paulo/SP", "são paulo esse pê"),
        ("VENDO CASA, TRATAR COM O SR. JOÃO.", "vendo casa, tratar com o senhor joão."),
    ],
    "electronic": [
        ("contato@empresa.com.br", "contato arroba empresa ponto com ponto br"),
        ("https://www.gov.br/receita", "h t t p s dois pontos barra barra w w w ponto gov ponto br barra receita"),
        ("test@gmail.com", "t e s t arroba gmail ponto com"),
        ("siga @usuario", "siga arroba usuario"),
        ("Veja nvidia.com.", "veja nvidia ponto com."),
    ],
    "unit": [
        ("45 s", "quarenta e cinco segundos"),
        ("60 mph", "sessenta milhas por hora"),
        ("100 kph", "cem quilômetros por hora"),
        ("10 m/s", "dez metros por segundo"),
        ("1 s", "um segundo"),
    ],
    "range": [
        ("de 2020-2024", "de dois mil e vinte a dois mil e vinte e quatro"),
        ("10-12 anos", "dez a doze anos"),
    ],
}

CASES = [(cls, w, s) for cls, rows in CLASSES.items() for w, s in rows]


@pytest.mark.parametrize("cls, written, spoken", CASES, ids=[f"{c}:{w[:30]}" for c, w, _ in CASES])
def test_class(cls, written, spoken):
    assert normalize(written, "pt-BR") == spoken


def test_decimals_either_style():
    """Decimals are read as a number after the comma ("vírgula vinte e cinco", up to three digits) by
    default; the table's other style reads them digit by digit, as some suites do."""
    assert normalize("3,25", "pt-BR") == "três vírgula vinte e cinco"
    digits = Normalizer("pt-BR", overrides={"numbers": {"decimals": "digits"}})
    assert digits("3,25").text == "três vírgula dois cinco"


def test_roman_values():
    assert [roman_value(r) for r in ("I", "IV", "XXI", "XLIX", "MCMXCIX")] == [1, 4, 21, 49, 1999]
    assert roman_value("IIII") is None and roman_value("VX") is None and roman_value("") is None


def test_case_is_lowered_last_and_kept_for_an_extended_vocab():
    """The rules see capitals (7H, IBGE); a vocab extended with Ô keeps it, the base vocab lowers it."""
    from f5lab.speech.text.normalizer import default_vocab

    assert normalize("VOVÔ às 7H", "pt-BR") == "vovô às sete horas"
    extended = set(default_vocab()) | {"Ô"}
    assert normalize("VOVÔ às 7H", "pt-BR", extended) == "vovÔ às sete horas"


def test_an_unknown_initialism_in_capitals_is_noted():
    done = normalize_detailed("A EMPRESA XYZWK informou", "pt-BR")
    assert done.text == "a empresa xis ípsilon zê dáblio cá informou"  # no vowel: spelled even in capitals
    noted = normalize_detailed("O grupo XPTOAB informou", "pt-BR")  # capitals with a vowel, too long to spell
    assert noted.text == "o grupo xptoab informou" and [n["text"] for n in noted.notes] == ["XPTOAB"]
