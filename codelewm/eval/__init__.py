"""codelewm.eval"""
