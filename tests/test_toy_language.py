"""The book's hand-built language: its layers, its running example and its pictures."""

import numpy as np
import pytest

from selfattention import examples, plotting, score
from selfattention.numpy_backend import multi_head_self_attention, sinusoidal_positions


def test_the_hand_built_layers_resolve_it_by_the_adjective():
    for sentence, referent in [
        (examples.SENTENCE, "animal"),
        (examples.SENTENCE_WIDE, "street"),
        (examples.SENTENCE.replace("tired", "hungry"), "animal"),
        (examples.SENTENCE.replace("tired", "busy"), "street"),
    ]:
        row = examples.contextualize(sentence).row("it")
        assert max(row, key=row.get) == referent, (sentence, row)


def test_every_rule_of_the_hand_built_layers_has_the_same_strength():
    for layer in examples.hand_built_layers(strength=1.7):
        for w in (layer.w_q, layer.w_k):
            assert w.shape == (len(examples.FEATURES), len(layer.roles))
            assert set(np.unique(w)) <= {0.0, 1.7}
            assert (w != 0).sum() >= 1
        assert set(np.unique(layer.w_v)) <= {0.0, 1.0}


def test_matrix_puts_each_named_entry_in_its_row_and_column():
    w = examples.matrix(
        {("b", "y"): 2.0, ("c", "x"): -1.0}, ["a", "b", "c"], ["x", "y"]
    )
    np.testing.assert_array_equal(w, [[0, 0], [0, 2], [-1, 0]])


def test_the_worked_example_is_layer_two_computed_one_step_at_a_time():
    ex = examples.worked_example()
    c = examples.contextualize(examples.SENTENCE)
    it = c.tokens.index("it")
    np.testing.assert_allclose(ex.weights, c.weights[1][it], rtol=0, atol=1e-15)
    # the residual connection: the layer's output is the input plus what "it" gathered
    np.testing.assert_allclose(
        c.outputs[1][it], c.outputs[0][it] + ex.output, atol=1e-15
    )
    by_hand = ex.keys @ ex.query / np.sqrt(len(ex.roles))  # (n,)
    np.testing.assert_allclose(ex.scores, by_hand, rtol=0, atol=1e-15)
    assert ex.tokens[int(np.argmax(ex.scores))] == "animal"
    # the query's "alive" entry: the strength times the share of "tired" from layer 1
    share = c.row("it", 0)["tired"]
    assert ex.query[0] == pytest.approx(examples.STRENGTH * share)
    assert ex.query[1] == 0.0


def test_the_wide_sentence_asks_for_a_place():
    ex = examples.worked_example(examples.SENTENCE_WIDE)
    assert ex.tokens[int(np.argmax(ex.scores))] == "street"


def test_one_head_splits_its_row_two_heads_each_do_one_job():
    layer = examples.two_head_layer()
    tokens = examples.tokenize(examples.SENTENCE)
    x = examples.embed(tokens)
    it, tired = tokens.index("it"), tokens.index("tired")
    animal, street = tokens.index("animal"), tokens.index("street")
    w = (layer.w_q, layer.w_k, layer.w_v, layer.w_o)
    _, one = multi_head_self_attention(x, *w, num_heads=1)
    _, two = multi_head_self_attention(x, *w, num_heads=2)
    row = one[0, it]
    assert row[tired] == pytest.approx(row[animal]) == pytest.approx(row[street])
    assert row[tired] < 0.34  # three matches share one row
    assert two[0, it, tired] > 0.8  # head 1: the adjective, alone
    assert two[1, it, animal] == pytest.approx(two[1, it, street])  # head 2: the nouns
    assert two[1, it, tired] < 0.05


def test_positions_make_the_weights_depend_on_the_order():
    tokens = examples.tokenize(examples.SENTENCE)
    shuffled = tokens[::-1]
    positions = 0.5 * sinusoidal_positions(len(tokens), len(examples.FEATURES))
    plain = [examples.contextualize(t).row("it")["animal"] for t in (tokens, shuffled)]
    placed = [
        examples.contextualize(t, positions=positions).row("it")["animal"]
        for t in (tokens, shuffled)
    ]
    assert plain[0] == pytest.approx(plain[1], abs=1e-12)  # blind to order
    assert abs(placed[0] - placed[1]) > 0.05  # not any more
    default = examples.contextualize(tokens, positions=np.zeros_like(positions))
    assert default.row("it") == pytest.approx(examples.contextualize(tokens).row("it"))


@pytest.mark.parametrize(
    ("text", "left_out"),
    [
        ("naïve café 🚀 日本語", ["🚀"]),
        ("Hello, world! It's 100% fine.", []),
        ("a ★ b", ["★"]),
    ],
)
def test_symbols_the_tokenizer_drops_are_named(text, left_out):
    assert examples.left_out(text) == left_out


def test_characters_the_figure_font_lacks_are_found():
    assert plotting.missing_glyphs(["naïve", "café"]) == []
    assert plotting.missing_glyphs(["日本語", "🚀", "日"]) == ["日", "本", "語", "🚀"]


def test_the_worked_example_table_shows_the_numbers_of_each_step():
    ex = examples.worked_example()
    texts = {
        step: [t.get_text() for t in plotting.worked_example(ex, step).axes[0].texts]
        for step in ("score", "normalize", "blend")
    }
    assert f"{ex.scores[1]:.2f}" in texts["score"]
    assert f"{ex.weights[1]:.3f}" not in texts["score"]  # the weights come in step 2
    assert f"{ex.weights[1]:.3f}" in texts["normalize"]
    assert f"{ex.output[0]:.3f}" in texts["blend"]
    with pytest.raises(ValueError, match="step must be one of"):
        plotting.worked_example(ex, "softmax")


def test_the_projection_pictures_write_every_rule_in_its_cell():
    layer = examples.hand_built_layers()[1]
    fig = plotting.projections(layer, examples.FEATURES)
    written = [len(ax.texts) for ax in fig.axes if ax.images]
    assert written == [
        (layer.w_q != 0).sum(),
        (layer.w_k != 0).sum(),
        (layer.w_v != 0).sum(),
    ]


def test_the_heads_diagram_needs_heads_that_divide_the_width():
    assert len(plotting.heads_diagram(11, 10, 2).axes) == 1
    with pytest.raises(ValueError, match="not divisible"):
        plotting.heads_diagram(11, 10, 3)


def test_score_tables_show_the_scores_they_are_given():
    scores = score(np.eye(3), 2 * np.eye(3), scale=1.0)
    fig = plotting.score_tables([(scores, list("abc"), list("abc"), "t")])
    (ax,) = [a for a in fig.axes if a.images]
    np.testing.assert_array_equal(ax.images[0].get_array(), scores)
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        f"{v:.1f}" for v in scores.ravel()
    )
