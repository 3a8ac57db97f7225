"""codelewm.report"""
