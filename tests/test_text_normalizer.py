"""The per-language normaliser (f5lab.speech.text): written forms in, the words a model should read out.

Table-driven: each case is an input and its exact expected output, so a changed rule shows as
the cases it changes. Then properties (hypothesis): whatever the text, no digit reaches the
model, and every character of the result is in the vocab or reported as silence.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f5lab.errors import ConfigError
from f5lab.speech.text import canonical, default_sentence, normalize
from f5lab.speech.text.analysis import unknown_report
from f5lab.speech.text.normalizer import default_vocab, normalize_detailed
from f5lab.speech.text.numbers import NumberWords, tidy
from f5lab.speech.text.rules import HERE, LANGUAGES, REQUIRED, load_rules

PT_BR = [
    # the issue's own case: money, thousands, decimals, a time
    ("Custa R$ 1.234,56 às 14h30.", "custa mil duzentos e trinta e quatro reais e cinquenta e seis centavos às "
                                    "catorze horas e trinta."),
    # integers: num2words' commas removed, '.' thousands
    ("1234", "mil duzentos e trinta e quatro"),
    ("1.234", "mil duzentos e trinta e quatro"),
    ("1.234.567", "um milhão duzentos e trinta e quatro mil quinhentos e sessenta e sete"),
    ("Em 1999, 30% dos 1.500 alunos.", "em mil novecentos e noventa e nove, trinta por cento dos mil e quinhentos "
                                       "alunos."),
    ("Há 1.001 vagas.", "há mil e uma vagas."),
    ("Ligue para 190.", "ligue para cento e noventa."),
    ("007", "zero zero sete"),
    ("12345678901234567890", "um dois três quatro cinco seis sete oito nove zero um dois três quatro cinco seis "
                             "sete oito nove zero"),
    # decimals with ','; long decimals digit by digit; dotted numbers with 'ponto'
    ("3,14", "três vírgula catorze"),
    ("0,05", "zero vírgula zero cinco"),
    ("Acabou em 3,14159.", "acabou em três vírgula um quatro um cinco nove."),
    ("Mede 1,80 m.", "mede um vírgula oitenta metros."),
    ("A versão 2.0.1 saiu.", "a versão dois ponto zero ponto um saiu."),
    ("192.168.0.1", "um nove dois ponto um seis oito ponto zero ponto um"),  # an IP address: digit by digit
    ("versão 1.2", "versão um ponto dois"),
    # negatives
    ("-5 graus", "menos cinco graus"),
    ("Caiu -2,3%.", "caiu menos dois vírgula três por cento."),
    ("COVID-19", "covid-dezenove"),  # a hyphen inside a word is not a minus sign
    # gender agreement: um/uma, dois/duas, the hundreds, after the last large scale only
    ("Tenho 1 casa e 1 carro.", "tenho uma casa e um carro."),
    ("Comprei 2 casas e 2 carros.", "comprei duas casas e dois carros."),
    ("São 200 pessoas.", "são duzentas pessoas."),
    ("221 pessoas", "duzentas e vinte e uma pessoas"),
    ("Foram 500 libras? Não, 300 moedas.", "foram quinhentas libras? não, trezentas moedas."),
    ("32 mil pessoas", "trinta e duas mil pessoas"),
    ("2.200.000 pessoas", "dois milhões e duzentas mil pessoas"),
    ("2 milhões de pessoas", "dois milhões de pessoas"),
    ("Foram 21 mulheres e 21 homens.", "foram vinte e uma mulheres e vinte e um homens."),
    ("Foram 22 partidas.", "foram vinte e duas partidas."),
    ("Comprei 1.500 bananas.", "comprei mil e quinhentas bananas."),
    ("Tenho 2 vezes mais.", "tenho duas vezes mais."),
    ("1 dia", "um dia"),  # the exception list: 'dia' ends in -a and is masculine
    ("2 problemas", "dois problemas"),
    ("Tenho 101 dálmatas.", "tenho cento e um dálmatas."),
    ("O jogo terminou 2 a 1.", "o jogo terminou dois a um."),  # 'a' is not a noun
    ("Em 1999, 2 foram embora.", "em mil novecentos e noventa e nove, dois foram embora."),  # a comma ends the search
    # money
    ("Custa R$ 1,00.", "custa um real."),
    ("R$ 0,50", "cinquenta centavos"),
    ("Custa R$10,90.", "custa dez reais e noventa centavos."),
    ("Custa R$ 1,50.", "custa um real e cinquenta centavos."),
    ("€ 21,01", "vinte e um euros e um centavo"),
    ("R$ 1.000.000,00", "um milhão de reais"),
    ("R$ 2 milhões", "dois milhões de reais"),
    ("R$ 1,5 milhão", "um vírgula cinco milhão de reais"),
    ("R$ 3 mil", "três mil reais"),
    ("Ganhou R$ 2,5 bilhões.", "ganhou dois vírgula cinco bilhões de reais."),
    ("Custou US$ 1.000.", "custou mil dólares."),
    ("US$ 5", "cinco dólares"),
    ("5 €", "cinco euros"),
    ("Custa -R$ 5,00.", "custa menos cinco reais."),
    # percent
    ("15%", "quinze por cento"),
    ("12,5%", "doze vírgula cinco por cento"),
    ("Juros de 0,5% ao mês.", "juros de zero vírgula cinco por cento ao mês."),
    # ordinals: gender from the sign
    ("1º lugar, 2ª vez", "primeiro lugar, segunda vez"),
    ("21ª edição", "vigésima primeira edição"),
    ("O 3º colocado e a 10ª posição.", "o terceiro colocado e a décima posição."),
    ("1.º lugar", "primeiro lugar"),
    ("1.ª vez", "primeira vez"),
    # dates dd/mm/aaaa
    ("01/12/2024", "primeiro de dezembro de dois mil e vinte e quatro"),
    ("25/12/1999", "vinte e cinco de dezembro de mil novecentos e noventa e nove"),
    ("Dia 15/08/1947.", "dia quinze de agosto de mil novecentos e quarenta e sete."),
    ("31/13/2020", "trinta e um barra treze barra dois mil e vinte"),  # no month 13: not a date
    # times 14h30, 14h, 20:45
    ("20:45", "vinte horas e quarenta e cinco"),
    ("0h30", "zero horas e trinta"),
    ("1h", "uma hora"),
    ("12h00", "doze horas"),
    ("Às 9h, às 9h05 e às 23h59min.", "às nove horas, às nove horas e cinco e às vinte e três horas e "
                                      "cinquenta e nove minutos."),
    ("Das 8:00 às 18:30.", "das oito horas às dezoito horas e trinta."),
    ("ÔNIBUS às 7h", "ônibus às sete horas"),
    ("São 2 horas.", "são duas horas."),
    # units: singular for 1, the unit's gender
    ("10 km", "dez quilômetros"),
    ("1 km", "um quilômetro"),
    ("5kg de arroz", "cinco quilos de arroz"),
    ("2 t", "duas toneladas"),
    ("1,5 kg", "um vírgula cinco quilos"),
    ("A temperatura é 25 °C.", "a temperatura é vinte e cinco graus celsius."),
    ("Está -3 °C lá fora.", "está menos três graus celsius lá fora."),
    ("Área de 50 m².", "área de cinquenta metros quadrados."),
    ("Uma dose de 500 mg.", "uma dose de quinhentos miligramas."),
    ("A 100 km/h.", "a cem quilômetros por hora."),
    ("Bebi 2 l de água.", "bebi dois litros de água."),
    # abbreviations
    ("O Sr. Silva e a Dra. Ana chegaram.", "o senhor silva e a doutora ana chegaram."),
    ("O Dr. João e a Profa. Maria.", "o doutor joão e a professora maria."),
    ("Rua X, nº 42.", "rua x, número quarenta e dois."),
    ("nº5", "número cinco"),
    ("Livros, cadernos, etc. Depois", "livros, cadernos, etcétera. depois"),  # the sentence keeps its end
    # case and characters the base vocab lacks
    ("AVISO: LEIA COM ATENÇÃO.", "aviso: leia com atenção."),
    ("PÕE AÍ", "põe aí"),
    ("Vovô e vovó.", "vovô e vovó."),
    ("a ª b", "a a b"),
    ("Olá, tudo bem?", "olá, tudo bem?"),
    # digits inside words, symbols
    ("f5lab", "f cinco lab"),
    ("2+2=4", "dois mais dois igual a quatro"),
    ("Eu & você.", "eu e você."),
    ("Nota 10!", "nota dez!"),
]

EN = [
    ("It costs $1,234.56 at 14:30.", "It costs one thousand two hundred and thirty-four dollars and fifty-six cents "
                                     "at fourteen thirty."),
    ("In 1999, 30% of 1,500 students.", "In nineteen ninety-nine, thirty percent of one thousand five hundred "
                                        "students."),
    ("I have 1 dog and 2 cats.", "I have one dog and two cats."),
    ("It costs $5.", "It costs five dollars."),
    ("It costs $0.99.", "It costs ninety-nine cents."),
    ("It costs US$ 1,000,000.", "It costs one million dollars."),
    ("Pay €20.50 or £3.", "Pay twenty euros and fifty cents or three pounds."),
    ("$2 million", "two million dollars"),
    ("£1.01", "one pound and one penny"),
    ("The 1st, 2nd and 23rd.", "The first, second and twenty-third."),
    ("On 07/04/1776.", "On July fourth, seventeen seventy-six."),
    ("12/25/2024", "December twenty-fifth, twenty twenty-four"),
    ("At 9:30 and 12:00 and 18:00.", "At nine thirty and twelve o'clock and eighteen hundred."),
    ("8:05", "eight oh five"),
    ("Inflation hit 3.5%.", "Inflation hit three point five percent."),
    ("Version 1.2.3 and 3.14 and 0.5", "Version one point two point three and three point one four and zero point "
                                       "five"),
    ("It is -10 °F.", "It is minus ten degrees Fahrenheit."),
    ("She came 1st in the 100 m.", "She came first in the one hundred metres."),
    ("A 42.195 km run.", "A forty-two point one nine five kilometres run."),
    ("Mr. Smith, No. 5, etc.", "Mister Smith, number five, et cetera."),
    ("No. I said no.", "No. I said no."),  # "No." is "number" only before a number
    ("Dr. Who and Mrs. Smith.", "Doctor Who and Missus Smith."),
    ("In the 1990s and 1800s.", "In the nineteen nineties and eighteen hundreds."),
    ("The year 2000.", "The year two thousand."),
    ("Hello from f5lab.", "Hello from f five lab."),
    ("ÔNIBUS", "ôNIBUS"),  # English lowers only the capitals the vocab lacks
]


@pytest.mark.parametrize("written, spoken", PT_BR, ids=[c[0][:40] for c in PT_BR])
def test_pt_br(written, spoken):
    assert normalize(written, "pt-BR") == spoken


@pytest.mark.parametrize("written, spoken", EN, ids=[c[0][:40] for c in EN])
def test_en(written, spoken):
    assert normalize(written, "en") == spoken


def test_the_table_is_big_enough():
    assert len(PT_BR) >= 60 and len(EN) >= 20


def test_num2words_commas_are_a_pause_and_are_removed():
    from num2words import num2words

    assert num2words(1234, lang="pt_BR") == "mil, duzentos e trinta e quatro"  # what num2words writes
    assert tidy(num2words(1234, lang="pt_BR")) == "mil duzentos e trinta e quatro"
    words = NumberWords(load_rules("pt-BR"))
    assert words.feminise("dois milhões e duzentos mil") == "dois milhões e duzentas mil"
    assert words.ordinal("21", "f") == "vigésima primeira"


def test_normalising_twice_changes_nothing():
    for written, spoken in PT_BR:
        assert normalize(spoken, "pt-BR") == spoken, written


def test_every_change_is_recorded():
    done = normalize_detailed("Custa R$ 1.234,56 às 14h30. ª", "pt-BR")
    rules = [c.rule for c in done.changes]
    assert rules[:2] == ["money", "time"] and "lowercase" in rules and "fallback" in rules
    assert done.changes[0].before == "R$ 1.234,56"


def test_languages_and_their_tables():
    assert canonical("pt") == canonical("pt_BR") == canonical("PT-br") == "pt-BR" and canonical(None) == "en"
    with pytest.raises(ConfigError, match="--lang 'de'"):
        canonical("de")
    assert default_sentence("pt-BR") != default_sentence("en")
    for lang, name in LANGUAGES.items():
        table = json.loads((HERE / name).read_text(encoding="utf-8"))
        assert all(k in table for k in REQUIRED) and table["language"] == lang
    g = load_rules("pt-BR")["gender"]
    assert not set(g["nouns"]) & set(g["not_feminine"])  # a word is one or the other


def test_an_edited_table_missing_a_rule_is_one_line(tmp_path, monkeypatch):
    import f5lab.speech.text.rules as rules

    table = json.loads((HERE / "en.json").read_text(encoding="utf-8"))
    del table["units"]
    (tmp_path / "en.json").write_text(json.dumps(table), encoding="utf-8")
    monkeypatch.setattr(rules, "HERE", tmp_path)
    rules.load_rules.cache_clear()
    try:
        with pytest.raises(ConfigError, match="lack units"):
            rules.load_rules("en")
    finally:
        rules.load_rules.cache_clear()


# -- properties ----------------------------------------------------------------------------------
PT_CHARS = "abcçdefghijklmnopqrstuvwxyzáàâãéêíóôõúüÁÀÂÃÉÊÍÓÔÕÚÇ"
PIECES = list(PT_CHARS + PT_CHARS.upper() + "0123456789" * 4 + " .,;:!?-%$€ºª°/h\n") + \
    ["R$", "US$", "Sr.", "nº", " kg", " km", "°C", "1.234,5", "14h30", "20:45", "01/12/2024", "1º", "2ª"]
WRITTEN = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
ANY = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=WRITTEN, lang=st.sampled_from(["pt-BR", "en"]))
def test_no_digit_and_every_character_in_the_vocab(text, lang):
    """Written Portuguese or English (letters, digits, money, signs): nothing left for the model to
    misread as digits, and nothing it reads as silence."""
    out = normalize(text, lang)
    assert not re.search(r"\d", out), (text, out)
    vocab = default_vocab()
    from f5lab.speech.text.f5tts import known

    assert all(known(c, vocab) for c in out), (text, out, [c for c in out if not known(c, vocab)])


@settings(max_examples=300, deadline=None)
@given(text=ANY, lang=st.sampled_from(["pt-BR", "en"]))
def test_any_text_no_digit_and_the_rest_reported(text, lang):
    """Any Unicode at all: still no digit (any script's), and a character the vocab lacks either
    became something it has or is reported as silence."""
    done = normalize_detailed(text, lang)
    assert not re.search(r"\d", done.text), (text, done.text)
    vocab = default_vocab()
    from f5lab.speech.text.f5tts import known

    reported = {u["char"] for u in unknown_report(done, vocab) if u["became"] == "silence"}
    missing = {c for c in done.text if not known(c, vocab)}
    assert missing <= reported, (text, done.text, missing - reported)
