UPDATE sales SET owner = 'company' WHERE owner LIKE 'region:%';
