"""Edit operators over Python sources: AST-located mutations and refactors with natural-language
instructions (used by the synthetic source, downstream problems, evaluation decoys and benchmarks),
and strict unified-diff application (used by the scorer)."""
